"""People's accounts: the user model, sign-up, profile and calendar settings."""
