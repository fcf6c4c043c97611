-- vigil-server schema version 1 (PostgreSQL). Dates are ISO 8601 'YYYY-MM-DD' text, timestamps RFC 3339 UTC text.
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('patient', 'clinician', 'admin')),
    display_name TEXT NOT NULL,
    birth_date TEXT,
    sex TEXT CHECK (sex IS NULL OR sex IN ('male', 'female')),
    weight_kg DOUBLE PRECISION,
    created_at TEXT NOT NULL
);
CREATE TABLE assignments (
    clinician_id BIGINT NOT NULL REFERENCES users(id),
    patient_id BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (clinician_id, patient_id)
);
CREATE TABLE regimens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES users(id),
    drug TEXT NOT NULL,
    dose_mg DOUBLE PRECISION NOT NULL,
    interval_days BIGINT NOT NULL,
    indication TEXT NOT NULL,
    start_date TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX regimens_patient ON regimens(patient_id, id);
CREATE TABLE injections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES users(id),
    given_on TEXT NOT NULL,
    dose_mg DOUBLE PRECISION NOT NULL,
    site TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX injections_patient ON injections(patient_id, given_on);
CREATE TABLE weekly_scores (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES users(id),
    week_start TEXT NOT NULL,
    poem_days TEXT NOT NULL,
    poem_total BIGINT NOT NULL,
    pp_nrs DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX weekly_scores_patient ON weekly_scores(patient_id, week_start);
CREATE TABLE reactions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id BIGINT NOT NULL REFERENCES users(id),
    onset_date TEXT NOT NULL,
    description TEXT NOT NULL,
    sites TEXT NOT NULL,
    features TEXT NOT NULL,
    different_from_usual TEXT NOT NULL,
    rest_of_skin_improving TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX reactions_patient ON reactions(patient_id, onset_date);
CREATE TABLE assessments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reaction_id BIGINT NOT NULL REFERENCES reactions(id),
    clinician_id BIGINT NOT NULL REFERENCES users(id),
    scores_json TEXT NOT NULL,
    easi DOUBLE PRECISION,
    scorad DOUBLE PRECISION,
    causality_json TEXT NOT NULL,
    alternative_causes TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX assessments_reaction ON assessments(reaction_id, id);
CREATE TABLE icsr_exports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reaction_id BIGINT NOT NULL REFERENCES reactions(id),
    clinician_id BIGINT NOT NULL REFERENCES users(id),
    case_id TEXT NOT NULL,
    xml TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT REFERENCES users(id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT,
    before_json TEXT,
    after_json TEXT
);
CREATE TABLE sessions (
    token TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_unix BIGINT NOT NULL
);
