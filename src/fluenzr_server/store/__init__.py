"""Storage: SQLAlchemy Core tables, the engine, and queries. Every query takes the account id."""
