-- Pre-set-up warm clusters: what setup a warm cluster already has (JSON: key, lab ids, lab hashes,
-- params, Kubernetes version), so a restart adopts it only for the same lab as it was set up.
-- NULL: a plain warm cluster (or a claimed one).
ALTER TABLE clusters ADD COLUMN preset TEXT;
