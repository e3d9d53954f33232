//! Finding migration files in a directory (or embedded) and reading them into migrations.
