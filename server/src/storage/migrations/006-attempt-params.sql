-- Lab params ("variants"): the values an attempt drew for its lab(s), so a reload, a server restart
-- and grading all see the same ones. JSON object lab id → { param name → value }; NULL: no lab of
-- the attempt has params.
ALTER TABLE attempts ADD COLUMN params TEXT;
