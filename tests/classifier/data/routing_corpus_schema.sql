-- Schema for tests/data/routing_corpus.tsv: every table, view, sequence and
-- function the corpus statements name, so that they run for real
-- (tests/test_corpus_servers.py loads this into its own database).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE users (
    id serial PRIMARY KEY, email text, name text, is_active boolean DEFAULT true,
    created_at timestamptz DEFAULT now(), profile jsonb DEFAULT '{}', password text,
    sign_in_count int
);
CREATE TABLE orders (
    id serial PRIMARY KEY, user_id int, total numeric DEFAULT 0, status text DEFAULT 'new',
    created_at timestamptz DEFAULT now(), shipped_at timestamptz, note text, updated_by text
);
CREATE INDEX idx_orders_user ON orders (user_id);
CREATE TABLE products (id serial PRIMARY KEY, name text, price numeric, tags text[], qty int);
CREATE TABLE order_items (
    id serial PRIMARY KEY, order_id int, product_id int, unit_price numeric, qty int
);
CREATE TABLE employees (
    id serial PRIMARY KEY, department text, name text, salary numeric, manager_id int
);
CREATE TABLE events (id serial PRIMARY KEY, kind text, data jsonb);
CREATE TABLE accounts (id int PRIMARY KEY, balance numeric);
CREATE TABLE job_queue (
    id serial PRIMARY KEY, status text, run_at timestamptz DEFAULT now(), locked_by text
);
CREATE TABLE audit_log (id serial PRIMARY KEY, actor text, message text);
CREATE TABLE inventory (product_id int PRIMARY KEY, warehouse text, qty int);
CREATE TABLE staging_inventory (product_id int, warehouse text, qty int);
CREATE TABLE django_session (
    session_key varchar(40) PRIMARY KEY, session_data text, expire_date timestamptz
);
CREATE TABLE auth_user (
    id serial PRIMARY KEY, password varchar(128), last_login timestamptz,
    is_superuser boolean, username varchar(150) UNIQUE, is_active boolean
);
CREATE TABLE ar_internal_metadata (
    key varchar PRIMARY KEY, value varchar, created_at timestamp, updated_at timestamp
);
CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
CREATE TABLE "Insert Log" ("delete" text, "update" text);
CREATE TABLE documents (id serial PRIMARY KEY, title text, body text);
CREATE TABLE settings (name text PRIMARY KEY, value text);
CREATE SEQUENCE invoice_seq;
CREATE SEQUENCE hibernate_sequence;
CREATE VIEW active_users AS SELECT * FROM users WHERE is_active;
CREATE VIEW daily_sales AS
    SELECT date_trunc('day', created_at) AS day, sum(total) AS total FROM orders GROUP BY 1;
CREATE MATERIALIZED VIEW mv_user_totals AS
    SELECT user_id, sum(total) AS total FROM orders GROUP BY user_id;
CREATE UNIQUE INDEX mv_user_totals_user ON mv_user_totals (user_id);
CREATE FUNCTION get_user_score(int) RETURNS int LANGUAGE sql STABLE AS 'SELECT $1 * 2';

INSERT INTO users (email, name, profile, password)
    SELECT 'u' || i || '@example.com', 'user ' || i, '{}', 'x' FROM generate_series(1, 30) i;
INSERT INTO orders (user_id, total, status)
    SELECT 1 + i % 30, i * 1.5, (ARRAY['new', 'paid', 'shipped'])[1 + i % 3]
    FROM generate_series(1, 100) i;
INSERT INTO products (name, price, tags) VALUES
    ('widget', 9.5, '{a}'), ('gadget', 20, '{a,b}'), ('gizmo', 99, '{z}');
INSERT INTO order_items (order_id, product_id, unit_price, qty)
    SELECT i, 1 + i % 3, NULL, 1 FROM generate_series(1, 50) i;
INSERT INTO employees (department, name, salary, manager_id) VALUES
    ('eng', 'ann', 100, NULL), ('eng', 'bob', 90, 1), ('ops', 'cid', 80, 2);
INSERT INTO events (kind, data) VALUES
    ('purchase', '{"sku": "w1", "items": [{"sku": "w1", "qty": 2}]}');
INSERT INTO accounts VALUES (1, 100), (2, 50);
INSERT INTO job_queue (status) VALUES ('pending'), ('done'), ('failed');
