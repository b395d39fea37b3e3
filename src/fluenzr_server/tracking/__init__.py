"""Opens, clicks and unsubscribe links: tokens, the HTML part's rewriting, machine-hit rules, the `/t/` routes."""
