"""The database side: introspection, value conversion, COPY, the SQL steps around a load."""
