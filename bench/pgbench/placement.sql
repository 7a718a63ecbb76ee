-- One 3-line order placement, statement for statement and transaction for
-- transaction as POST /api/v1/orders/ runs it (orders/services/placement.py),
-- for pgbench: what the database alone can do on this machine.
--
-- Mirrors: bench/results/placement-sql-*.txt from `python -m bench.pgbench.capture`
-- (captured 6 Dec 2026, 10:29 UTC: 16 statements for a new customer, 15 for a
-- returning one, two transactions; the first five statements in autocommit).
-- Each statement below is headed "-- #N <step>", N being its number in that
-- capture for a new customer. To update after the intake path changes: run
-- the capture, then edit, add or drop the statements below so that the
-- numbers and transactions match again (README, "Raw SQL baseline").
--
-- Differences, all on purpose:
-- * The stock check the service does in Python between #6 (lock) and #7
--   (update) is the condition of #7's UPDATE: available >= qty. When it holds
--   fewer than 3 rows (the rest of #7 still ran), the transaction rolls back
--   and the claim is released (as a refused order); run.py counts refusals as
--   transactions - orders.
-- * Values the service computes in Python (prices, totals, routing's choice)
--   are fixed or random: the warehouse is drawn at random, not the nearest.
-- * Ids the service keeps in memory are carried with \gset / \aset; the
--   level ids #6 returns (three rows, which \gset cannot hold) are not: #7
--   and #16 find the levels by (sku_id, warehouse_id), unique, not by id.
-- * Customers are per pgbench client (e-mail from :client_id), so two
--   clients never race to create the same one (the service retries that).
-- * #1 selects the token by prefix; the SHA-256 comparison the service then
--   does in Python is not repeated.
-- * The advisory lock #2 takes on the key (session level) is given back by
--   the bind (#13) or, for a refused order, after the claim is deleted, as
--   idempotency_release does; keys are random per client, so #2 always gets
--   the lock and inserts the claim (the service's wait-and-retry never runs).
--
-- Variables from run.py (-D): channel, prefix, wh_first, sku_first, skus,
-- customers (per client).

\set n1 random(1, :skus / 3)
\set n2 :skus / 3 + random(1, :skus / 3)
\set n3 2 * (:skus / 3) + random(1, :skus / 3)
\set s1 :sku_first + :n1 - 1
\set s2 :sku_first + :n2 - 1
\set s3 :sku_first + :n3 - 1
\set q1 random(1, 3)
\set q2 random(1, 3)
\set q3 random(1, 3)
\set wh :wh_first + random(0, 2)
\set cust random(1, :customers)
\set key random(1, 1000000000000)
\set cust_id 0

-- #1 authentication: the token by its public prefix, with its channel
SELECT "oms_channeltoken"."id" AS "id", "oms_channeltoken"."prefix" AS "prefix", "oms_channeltoken"."key_hash" AS "key_hash", "oms_channeltoken"."created_at" AS "created_at", "oms_channeltoken"."revoked_at" AS "revoked_at", "oms_channeltoken"."channel_id" AS "channel_id", "oms_channeltoken"."name" AS "name", "oms_channeltoken"."channel_id" AS "channel__id", "oms_channel"."code" AS "channel__code", "oms_channel"."name" AS "channel__name", "oms_channel"."kind" AS "channel__kind", "oms_channel"."currency" AS "channel__currency", "oms_channel"."price_authority" AS "channel__price_authority", "oms_channel"."prices_include_tax" AS "channel__prices_include_tax", "oms_channel"."is_active" AS "channel__is_active", "oms_channel"."cart_ttl_minutes" AS "channel__cart_ttl_minutes", "oms_channel"."allow_backorders" AS "channel__allow_backorders", "oms_channel"."send_cart_reminders" AS "channel__send_cart_reminders", "oms_channel"."shipping_flat_rate" AS "channel__shipping_flat_rate", "oms_channel"."free_shipping_threshold" AS "channel__free_shipping_threshold", "oms_channel"."sender_email" AS "channel__sender_email", "oms_channel"."support_email" AS "channel__support_email", "oms_channel"."created_at" AS "channel__created_at" FROM "oms_channeltoken" INNER JOIN "oms_channel" ON ("oms_channeltoken"."channel_id" = "oms_channel"."id") WHERE ("oms_channel"."is_active" AND "oms_channeltoken"."prefix" = :prefix AND "oms_channeltoken"."revoked_at" IS NULL) ORDER BY "oms_channel"."code" ASC, 7 ASC;

-- #2 idempotency claim: advisory lock on the key, then the claim (autocommit: its own transaction)
WITH lock AS MATERIALIZED (SELECT pg_try_advisory_lock(7342, hashtext(:channel::text || ':' || 'key:' || 'pgbench-' || :client_id::bigint || '-' || :key::bigint)) AS got), claim AS ( INSERT INTO orders_idempotencykey (channel_id, key, request_hash, created_at) SELECT :channel::bigint, 'key:' || 'pgbench-' || :client_id::bigint || '-' || :key::bigint, md5(:key::text) || md5(:client_id::text), now() FROM lock WHERE got ON CONFLICT (channel_id, key) DO NOTHING RETURNING id ) SELECT got, (SELECT id FROM claim) FROM lock;

-- #3 validate: the SKUs by code, with the channel's price
SELECT "inventory_sku"."id" AS "id", "inventory_sku"."product_id" AS "product_id", "inventory_sku"."code" AS "code", "inventory_sku"."barcode" AS "barcode", "inventory_sku"."name" AS "name", "inventory_sku"."weight_grams" AS "weight_grams", "inventory_sku"."length_mm" AS "length_mm", "inventory_sku"."width_mm" AS "width_mm", "inventory_sku"."height_mm" AS "height_mm", "inventory_sku"."is_fragile" AS "is_fragile", "inventory_sku"."unit_cost" AS "unit_cost", "inventory_sku"."cost_currency" AS "cost_currency", "inventory_sku"."is_active" AS "is_active", "inventory_sku"."created_at" AS "created_at", (SELECT U0."unit_price" AS "unit_price" FROM "orders_pricelistentry" U0 WHERE (U0."channel_id" = :channel AND U0."sku_id" = ("inventory_sku"."id")) LIMIT 1) AS "channel_price" FROM "inventory_sku" WHERE ("inventory_sku"."code" = ANY(ARRAY['BENCH-' || lpad(:n1::text, 5, '0'), 'BENCH-' || lpad(:n2::text, 5, '0'), 'BENCH-' || lpad(:n3::text, 5, '0')]::varchar(64)[]) AND "inventory_sku"."is_active") ORDER BY 3 ASC;

-- #4 price: tax rates of the destination
SELECT "orders_taxrate"."region" AS "region", "orders_taxrate"."rate" AS "rate", "orders_taxrate"."applies_to_shipping" AS "applies_to_shipping" FROM "orders_taxrate" WHERE ("orders_taxrate"."country" = 'US' AND "orders_taxrate"."region" = ANY(ARRAY['', 'NY']::varchar(100)[])) ORDER BY "orders_taxrate"."country" ASC, 1 ASC;

-- #5 routing: stock (available, safety stock) and the warehouse, by warehouse serving the channel
SELECT "inventory_stocklevel"."sku_id" AS "sku_id", "inventory_stocklevel"."warehouse_id" AS "warehouse_id", (("inventory_stocklevel"."on_hand" - "inventory_stocklevel"."allocated") - "inventory_stocklevel"."soft_reserved") AS "available_qty", COALESCE((SELECT U0."quantity" AS "quantity" FROM "inventory_safetystock" U0 WHERE (U0."sku_id" = ("inventory_stocklevel"."sku_id") AND U0."warehouse_id" = ("inventory_stocklevel"."warehouse_id")) LIMIT 1), "inventory_warehouse"."safety_stock") AS "held_back", "inventory_stocklevel"."warehouse_id" AS "warehouse__id", "inventory_warehouse"."code" AS "warehouse__code", "inventory_warehouse"."name" AS "warehouse__name", "inventory_warehouse"."kind" AS "warehouse__kind", "inventory_warehouse"."line1" AS "warehouse__line1", "inventory_warehouse"."city" AS "warehouse__city", "inventory_warehouse"."region" AS "warehouse__region", "inventory_warehouse"."postal_code" AS "warehouse__postal_code", "inventory_warehouse"."country" AS "warehouse__country", "inventory_warehouse"."latitude" AS "warehouse__latitude", "inventory_warehouse"."longitude" AS "warehouse__longitude", "inventory_warehouse"."ships" AS "warehouse__ships", "inventory_warehouse"."allows_pickup" AS "warehouse__allows_pickup", "inventory_warehouse"."safety_stock" AS "warehouse__safety_stock", "inventory_warehouse"."is_active" AS "warehouse__is_active", "inventory_warehouse"."created_at" AS "warehouse__created_at" FROM "inventory_stocklevel" INNER JOIN "inventory_warehouse" ON ("inventory_stocklevel"."warehouse_id" = "inventory_warehouse"."id") WHERE ("inventory_warehouse"."is_active" AND "inventory_warehouse"."ships" AND (NOT EXISTS(SELECT 1 AS "a" FROM "inventory_warehouse_channels" U0 WHERE U0."warehouse_id" = ("inventory_stocklevel"."warehouse_id") LIMIT 1) OR EXISTS(SELECT 1 AS "a" FROM "inventory_warehouse_channels" U0 WHERE (U0."warehouse_id" = ("inventory_stocklevel"."warehouse_id") AND U0."channel_id" = :channel) LIMIT 1)) AND "inventory_stocklevel"."sku_id" = ANY(ARRAY[:s1, :s2, :s3]::bigint[]));

-- transaction 1: hold the stock (soft reservation)
BEGIN;

-- #6 hold: lock the order's stock levels in the chosen warehouse, in id order
SELECT * FROM inventory_stocklevel WHERE (sku_id, warehouse_id) IN (SELECT * FROM unnest(ARRAY[:s1, :s2, :s3]::bigint[], ARRAY[:wh, :wh, :wh]::bigint[])) ORDER BY id FOR UPDATE;

-- #7 hold, one statement: soft_reserved += qty where available >= qty (the service's check, in SQL),
-- the reserve movements and the reservations (ids kept for #14)
WITH changed AS (UPDATE inventory_stocklevel AS s SET on_hand = s.on_hand + v.oh, allocated = s.allocated + v.al, soft_reserved = s.soft_reserved + v.rs, updated_at = now() FROM (VALUES (:s1::bigint, 0::int, 0::int, :q1::int), (:s2::bigint, 0::int, 0::int, :q2::int), (:s3::bigint, 0::int, 0::int, :q3::int)) AS v(sku_id, oh, al, rs) WHERE s.sku_id = v.sku_id AND s.warehouse_id = :wh AND s.on_hand - s.allocated - s.soft_reserved >= v.rs RETURNING s.id), moved AS (INSERT INTO "inventory_stockmovement" ("sku_id", "warehouse_id", "kind", "bin_id", "on_hand_delta", "allocated_delta", "reserved_delta", "reference", "reason", "note", "actor", "created_at") SELECT * FROM UNNEST(ARRAY[:s1, :s2, :s3]::bigint[], ARRAY[:wh, :wh, :wh]::bigint[], ARRAY['reserve', 'reserve', 'reserve']::varchar[], ARRAY[NULL, NULL, NULL]::bigint[], ARRAY[0, 0, 0]::integer[], ARRAY[0, 0, 0]::integer[], ARRAY[:q1, :q2, :q3]::integer[], array_fill('placing:' || 'pgbench-' || :client_id::bigint || '-' || :key::bigint, ARRAY[3])::varchar[], ARRAY['', '', '']::varchar[], ARRAY['', '', '']::varchar[], ARRAY['', '', '']::varchar[], array_fill(now(), ARRAY[3])::timestamp with time zone[])), r AS (INSERT INTO "inventory_reservation" ("sku_id", "warehouse_id", "quantity", "status", "reference", "expires_at", "created_at", "closed_at") SELECT * FROM UNNEST(ARRAY[:s1, :s2, :s3]::bigint[], ARRAY[:wh, :wh, :wh]::bigint[], ARRAY[:q1, :q2, :q3]::integer[], ARRAY['active', 'active', 'active']::varchar[], array_fill('placing:' || 'pgbench-' || :client_id::bigint || '-' || :key::bigint, ARRAY[3])::varchar[], array_fill(now() + interval '2 minutes', ARRAY[3])::timestamp with time zone[], array_fill(now(), ARRAY[3])::timestamp with time zone[], ARRAY[NULL, NULL, NULL]::timestamp with time zone[]) RETURNING "inventory_reservation"."id") SELECT (SELECT count(*) FROM changed) AS held, (SELECT array_agg(id ORDER BY id) FROM r) AS res_ids
\gset

\if :held = 3

COMMIT;

-- (the payment gateway is called here, outside any transaction)

-- transaction 2: record the order, then allocate
BEGIN;

-- #8 record: the customer by e-mail (\aset: no row leaves cust_id at 0)
SELECT "customers_customer"."id", "customers_customer"."channel_id", "customers_customer"."external_id", "customers_customer"."email", "customers_customer"."first_name", "customers_customer"."last_name", "customers_customer"."phone", "customers_customer"."company", "customers_customer"."is_vip", "customers_customer"."language", "customers_customer"."payment_terms_days", "customers_customer"."credit_limit", "customers_customer"."tags", "customers_customer"."notes", "customers_customer"."created_at", "customers_customer"."updated_at" FROM "customers_customer" WHERE ("customers_customer"."channel_id" = :channel AND LOWER("customers_customer"."email") = 'customer' || :client_id::bigint || '-' || :cust::bigint || '@pgbench.example.com') ORDER BY "customers_customer"."id" ASC LIMIT 1
\aset cust_

\if :cust_id = 0
-- #9 record, new customer: insert unless another order just did (ON CONFLICT DO NOTHING, no savepoint)
INSERT INTO "customers_customer" ("channel_id", "external_id", "email", "first_name", "last_name", "phone", "company", "is_vip", "language", "payment_terms_days", "credit_limit", "tags", "notes", "created_at", "updated_at") VALUES (:channel, '', 'customer' || :client_id::bigint || '-' || :cust::bigint || '@pgbench.example.com', 'Bench', 'Customer ' || :cust::bigint, '', '', false, '', NULL, NULL, '{}'::varchar(40)[], '', now(), now()) ON CONFLICT DO NOTHING RETURNING "customers_customer"."id"
\gset cust_
\endif

-- #10 record: the order
INSERT INTO "orders_order" ("channel_id", "external_id", "source", "status", "customer_id", "email", "shipping_address", "billing_address", "ship_country", "currency", "subtotal", "discount_total", "shipping_total", "tax_total", "grand_total", "prices_include_tax", "payment_terms_days", "warehouse_id", "shipping_speed", "deliver_by", "pickup_location_id", "is_gift", "gift_message", "is_vip", "is_replacement", "special_code", "priority", "hold_reason", "promised_at", "notes", "placed_at", "cancelled_at", "delivered_at", "created_by_id", "updated_at") VALUES (:channel, NULL, 'api', 'allocated', :cust_id, 'customer' || :client_id::bigint || '-' || :cust::bigint || '@pgbench.example.com', '{"city": "New York", "name": "Bench Customer", "line1": "350 5th Ave", "line2": "", "phone": "", "region": "NY", "company": "", "country": "US", "latitude": "40.748400", "longitude": "-73.985700", "postal_code": "10118"}'::jsonb, NULL, 'US', 'USD', 150.00, 0.00, 0.00, 13.31, 163.31, false, NULL, :wh, 'standard', NULL, NULL, false, '', false, false, NULL, 0, '', NULL, '', now(), NULL, NULL, NULL, now()) RETURNING "orders_order"."id"
\gset order_

-- #11 record: the lines
INSERT INTO "orders_orderline" ("order_id", "line_number", "sku_id", "external_id", "quantity", "unit_price", "discount", "tax_rate", "tax_amount", "line_total", "unit_cost", "warehouse_id", "quantity_allocated", "quantity_shipped", "quantity_cancelled") SELECT * FROM UNNEST(ARRAY[:order_id, :order_id, :order_id]::bigint[], ARRAY[1, 2, 3]::smallint[], ARRAY[:s1, :s2, :s3]::bigint[], ARRAY['', '', '']::varchar[], ARRAY[:q1, :q2, :q3]::integer[], ARRAY[25.00, 25.00, 25.00]::numeric[], ARRAY[0.00, 0.00, 0.00]::numeric[], ARRAY[0.08875, 0.08875, 0.08875]::numeric[], ARRAY[2.22, 2.22, 2.22]::numeric[], ARRAY[25.00 * :q1, 25.00 * :q2, 25.00 * :q3]::numeric[], ARRAY[10.00, 10.00, 10.00]::numeric[], ARRAY[:wh, :wh, :wh]::bigint[], ARRAY[:q1, :q2, :q3]::integer[], ARRAY[0, 0, 0]::integer[], ARRAY[0, 0, 0]::integer[]) RETURNING "orders_orderline"."id";

-- #12 record, one statement: the payment (authorized), its transaction, the order event (placed)
-- and the outbox event (order.placed)
WITH i0 AS (INSERT INTO "orders_payment" ("order_id", "gateway", "reference", "token", "brand", "last4", "currency", "amount_authorized", "amount_captured", "amount_refunded", "status", "created_at", "updated_at") VALUES (:order_id, 'test', 'auth_pgbench_' || :key::bigint, 'tok_test_visa_4242_pgbench', 'visa', '4242', 'USD', 163.31, 0, 0, 'authorized', now(), now()) RETURNING "orders_payment"."id"), i1 AS (INSERT INTO "orders_paymenttransaction" ("payment_id", "order_id", "kind", "amount", "currency", "success", "gateway_reference", "message", "created_at") VALUES ((SELECT "id" FROM i0), :order_id, 'authorize', 163.31, 'USD', true, 'auth_pgbench_' || :key::bigint, '', now()) RETURNING "orders_paymenttransaction"."id"), i2 AS (INSERT INTO "orders_orderevent" ("order_id", "kind", "from_status", "to_status", "actor_type", "actor_user_id", "actor_channel_id", "message", "data", "created_at") VALUES (:order_id, 'placed', '', 'allocated', 'channel', NULL, :channel, 'Placed via api; allocated from a warehouse.', '{"warehouse": "BENCH-NJ", "grand_total": "163.31", "promised_at": null}'::jsonb, now()) RETURNING "orders_orderevent"."id"), i3 AS (INSERT INTO "oms_outboxevent" ("topic", "aggregate", "payload", "created_at", "available_at", "claimed_until", "attempts", "done_handlers", "dispatched_at", "failed_at", "last_error") VALUES ('order.placed', 'order:' || :order_id::bigint, jsonb_build_object('order_id', :order_id::bigint), now(), now(), NULL, 0, '[]'::jsonb, NULL, NULL, '') RETURNING "oms_outboxevent"."id") SELECT 0, "id" FROM i0 UNION ALL SELECT 1, "id" FROM i1 UNION ALL SELECT 2, "id" FROM i2 UNION ALL SELECT 3, "id" FROM i3;

-- #13 record: bind the idempotency key to the order, giving back its advisory lock (#2)
UPDATE orders_idempotencykey SET order_id = :order_id WHERE channel_id = :channel AND key = ANY(ARRAY['key:' || 'pgbench-' || :client_id::bigint || '-' || :key::bigint]) RETURNING pg_advisory_unlock(7342, hashtext(:channel::text || ':' || key));

-- #14 allocate: the reservations locked and converted
UPDATE inventory_reservation SET status = 'converted', closed_at = now() WHERE id IN (SELECT id FROM inventory_reservation WHERE id = ANY(:res_ids::bigint[]) AND status = 'active' ORDER BY id FOR UPDATE) RETURNING *;

-- #15 allocate: lock the stock levels, in id order
SELECT * FROM inventory_stocklevel WHERE (sku_id, warehouse_id) IN (SELECT * FROM unnest(ARRAY[:s1, :s2, :s3]::bigint[], ARRAY[:wh, :wh, :wh]::bigint[])) ORDER BY id FOR UPDATE;

-- #16 allocate, one statement: allocated += qty, soft_reserved -= qty, and the allocate movements
WITH changed AS (UPDATE inventory_stocklevel AS s SET on_hand = s.on_hand + v.oh, allocated = s.allocated + v.al, soft_reserved = s.soft_reserved + v.rs, updated_at = now() FROM (VALUES (:s1::bigint, 0::int, :q1::int, -(:q1::int)), (:s2::bigint, 0::int, :q2::int, -(:q2::int)), (:s3::bigint, 0::int, :q3::int, -(:q3::int))) AS v(sku_id, oh, al, rs) WHERE s.sku_id = v.sku_id AND s.warehouse_id = :wh) INSERT INTO "inventory_stockmovement" ("sku_id", "warehouse_id", "kind", "bin_id", "on_hand_delta", "allocated_delta", "reserved_delta", "reference", "reason", "note", "actor", "created_at") SELECT * FROM UNNEST(ARRAY[:s1, :s2, :s3]::bigint[], ARRAY[:wh, :wh, :wh]::bigint[], ARRAY['allocate', 'allocate', 'allocate']::varchar[], ARRAY[NULL, NULL, NULL]::bigint[], ARRAY[0, 0, 0]::integer[], ARRAY[:q1, :q2, :q3]::integer[], ARRAY[-(:q1::int), -(:q2::int), -(:q3::int)]::integer[], array_fill('order:' || :order_id::bigint, ARRAY[3])::varchar[], ARRAY['', '', '']::varchar[], ARRAY['', '', '']::varchar[], ARRAY['', '', '']::varchar[], array_fill(now(), ARRAY[3])::timestamp with time zone[]);

COMMIT;

\else

-- refused (insufficient stock): undo the hold, as the service does
ROLLBACK;

-- refused: the idempotency claim released, then its advisory lock (#2), as idempotency_release does
DELETE FROM "orders_idempotencykey" WHERE ("orders_idempotencykey"."channel_id" = :channel AND "orders_idempotencykey"."key" = 'key:' || 'pgbench-' || :client_id::bigint || '-' || :key::bigint AND "orders_idempotencykey"."order_id" IS NULL);

SELECT pg_advisory_unlock(7342, hashtext(:channel::text || ':' || 'key:' || 'pgbench-' || :client_id::bigint || '-' || :key::bigint));

\endif
