-- Exact counts kept by the database itself, in the transaction of each change: a team's groups
-- (the total of the group list) and a group's voiceprints (its feature_count and the total of
-- the voiceprint list). Counting them per request scanned every group of the team.
--
-- Locks: a voiceprint's insert or delete updates its group's row, which every writer of the
-- group's voiceprints already holds (it moves voiceprints_version first; see voiceprints.rs).
-- A group's insert or delete updates its team's row, so group creations and deletions within
-- one team take turns for the moment of their commit.
ALTER TABLE teams ADD COLUMN group_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE voiceprint_groups ADD COLUMN voiceprint_count BIGINT NOT NULL DEFAULT 0;

UPDATE teams SET group_count = (SELECT COUNT(*) FROM voiceprint_groups g WHERE g.team_id = teams.id);
UPDATE voiceprint_groups
SET voiceprint_count = (SELECT COUNT(*) FROM voiceprints v WHERE v.group_id = voiceprint_groups.id);

CREATE FUNCTION count_groups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE teams SET group_count = group_count + 1 WHERE id = NEW.team_id;
    ELSE
        UPDATE teams SET group_count = group_count - 1 WHERE id = OLD.team_id;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION count_voiceprints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE voiceprint_groups SET voiceprint_count = voiceprint_count + 1 WHERE id = NEW.group_id;
    ELSE
        UPDATE voiceprint_groups SET voiceprint_count = voiceprint_count - 1 WHERE id = OLD.group_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER group_counted AFTER INSERT OR DELETE ON voiceprint_groups
FOR EACH ROW EXECUTE FUNCTION count_groups();
CREATE TRIGGER voiceprint_counted AFTER INSERT OR DELETE ON voiceprints
FOR EACH ROW EXECUTE FUNCTION count_voiceprints();
