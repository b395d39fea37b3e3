"""Opens, clicks and unsubscribe links: tokens, the HTML part, the machine-hit rule, the `/t/` routes."""
