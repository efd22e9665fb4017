"""Dashboard roles: what a team member may do (revtain/dashboard/auth.py). Importable without the
app, so ``revtain users add --role`` can offer them without loading the models."""

ADMIN = "admin"
MARKETING = "marketing"
FINANCE = "finance"
ROLES = (ADMIN, MARKETING, FINANCE)
