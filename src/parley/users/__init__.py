"""user-service: accounts, login sessions, profiles and admin user management."""
