"""The pages of submitting and reviewing work."""
