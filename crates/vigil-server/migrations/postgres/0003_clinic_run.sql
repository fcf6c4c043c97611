-- vigil-server schema version 3 (PostgreSQL): what a clinic needs to run the service. Existing rows are kept;
-- new columns get the value that states what was true before (no time zone chosen = UTC, every account active,
-- every export the first of its reaction unless an earlier one exists).
-- Audit rows name the patient whose record they touch, so that the record's clinicians can read their
-- clinical before/after and the admin sees only who, what, which record and when.
ALTER TABLE audit_log ADD COLUMN patient_id BIGINT REFERENCES users(id);
UPDATE audit_log SET patient_id = (SELECT patient_id FROM regimens WHERE regimens.id = audit_log.entity_id) WHERE entity = 'regimen';
UPDATE audit_log SET patient_id = (SELECT patient_id FROM injections WHERE injections.id = audit_log.entity_id) WHERE entity = 'injection';
UPDATE audit_log SET patient_id = (SELECT patient_id FROM weekly_scores WHERE weekly_scores.id = audit_log.entity_id) WHERE entity = 'weekly_scores';
UPDATE audit_log SET patient_id = (SELECT patient_id FROM reactions WHERE reactions.id = audit_log.entity_id) WHERE entity = 'reaction';
UPDATE audit_log SET patient_id = (SELECT r.patient_id FROM assessments a JOIN reactions r ON r.id = a.reaction_id WHERE a.id = audit_log.entity_id) WHERE entity = 'assessment';
UPDATE audit_log SET patient_id = (SELECT r.patient_id FROM icsr_exports x JOIN reactions r ON r.id = x.reaction_id WHERE x.id = audit_log.entity_id) WHERE entity = 'icsr_export';
UPDATE audit_log SET patient_id = entity_id WHERE entity = 'user' AND entity_id IN (SELECT id FROM users WHERE role = 'patient');
CREATE INDEX audit_log_patient ON audit_log(patient_id, id);
-- Seriousness (E2B E.i.3.2, vigil-clinic JSON; 'null' = not asked yet) and the clinician's own causality
-- (WHO-UMC category; NULL = not stated).
ALTER TABLE assessments ADD COLUMN seriousness_json TEXT NOT NULL DEFAULT 'null';
ALTER TABLE assessments ADD COLUMN clinician_causality TEXT;
-- Each export of a reaction is a version of its ICSR with its own message id (C.1.1 stays the case id).
ALTER TABLE icsr_exports ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
UPDATE icsr_exports SET version = (SELECT COUNT(*) FROM icsr_exports e WHERE e.reaction_id = icsr_exports.reaction_id AND e.id <= icsr_exports.id);
ALTER TABLE icsr_exports ADD COLUMN message_id TEXT;
UPDATE icsr_exports SET message_id = case_id || '-v' || version;
-- Accounts: IANA time zone for "today", and deactivation.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN active BIGINT NOT NULL DEFAULT 1;
-- Injection corrections: a correction is a new row that supersedes an earlier one, with a reason.
ALTER TABLE injections ADD COLUMN supersedes_id BIGINT REFERENCES injections(id);
ALTER TABLE injections ADD COLUMN correction_reason TEXT;
