-- caseflow's PostgreSQL role and database. Run once, as the postgres superuser:
--
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -f deploy/postgresql-setup.sql
--
-- Safe to run again (what exists is left, the settings are applied again). The names can
-- be changed with  -v role=... -v database=...  (the tests do, for a role of their own).
--
-- Authentication: peer, over the local socket. Debian's pg_hba.conf has
--     local   all   all   peer
-- so the operating-system user caseflow (the one the services run as) is let in as the
-- role caseflow, and no one else is: no password exists to leak, none is in the
-- environment file. caseflow's URL names the socket directory:
--     CASEFLOW_DATABASE_URL=postgresql+psycopg://caseflow@/caseflow?host=/run/postgresql
-- `sudo -u caseflow psql caseflow` is then the way in for an operator.
-- (A database on another machine: a password or, better, a client certificate,
-- hostssl in pg_hba.conf, and the host and sslmode in the URL instead.)

\if :{?role}
\else
  \set role caseflow
\endif
\if :{?database}
\else
  \set database caseflow
\endif

-- The role: may log in and nothing more (no superuser, no creating databases or roles).
-- 50 connections: each gunicorn worker holds one at a time (at most 9 workers), the
-- scheduler one per running job (6 jobs), a backup two, `caseflow check` and an operator
-- a few; PostgreSQL's max_connections (100 by default) keeps room for the superuser.
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
              'NOBYPASSRLS CONNECTION LIMIT 50', :'role') \gexec
-- A transaction left open (a worker killed mid-request, an operator's forgotten BEGIN)
-- holds its locks and blocks vacuum; end it after 15 minutes.
SELECT format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', :'role', '15min') \gexec

-- The database, owned by the role: UTF-8 whatever the server's locale (names, addresses
-- and letters are Chinese), from template0 so the encoding can be chosen.
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0 '
              'LC_COLLATE %L LC_CTYPE %L CONNECTION LIMIT 50',
              :'database', :'role', 'UTF8', 'C.UTF-8', 'C.UTF-8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'database', :'role') \gexec
-- Nobody else may connect (PUBLIC has CONNECT by default).
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec

-- Inside the database: caseflow's tables go into the schema public, which the role owns;
-- other roles may not create anything there (PostgreSQL 15's default, said again).
\connect :database
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
