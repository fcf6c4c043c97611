-- vigil-server schema version 2: the clinician's dechallenge and rechallenge (vigil-clinic JSON, 'null' when not recorded).
ALTER TABLE assessments ADD COLUMN dechallenge_json TEXT NOT NULL DEFAULT 'null';
ALTER TABLE assessments ADD COLUMN rechallenge_json TEXT NOT NULL DEFAULT 'null';
