-- Migration 2: employees' PINs (Argon2id hashes only) and whether the badge is still active
ALTER TABLE employees ADD COLUMN pin_hash text;
ALTER TABLE employees ADD COLUMN active boolean NOT NULL DEFAULT true;
