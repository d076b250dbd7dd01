"""Import of the offices' existing Excel ledgers (台账): referrals with their people, from
XLSX or CSV, previewed before anything is written, then all in one transaction."""
