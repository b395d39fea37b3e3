"""The HTTP edge: one module per contract tag. Connexion routes `operationId`s here.

Handlers are thin: take Connexion's kwargs (`user` is the authenticated account id), call one service
function, and return (envelope, status).
"""
