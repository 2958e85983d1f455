"""The reviews domain's reads, one module per page: what each page shows, built from the ORM."""
