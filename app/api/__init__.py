"""HTTP only: parse the request, call one service, map its errors. No SQL and no business rules here."""
