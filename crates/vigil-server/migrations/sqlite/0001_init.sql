-- vigil-server schema version 1 (SQLite). Dates are ISO 8601 'YYYY-MM-DD' text, timestamps RFC 3339 UTC text.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('patient', 'clinician', 'admin')),
    display_name TEXT NOT NULL,
    birth_date TEXT,
    sex TEXT CHECK (sex IS NULL OR sex IN ('male', 'female')),
    weight_kg REAL,
    created_at TEXT NOT NULL
);
CREATE TABLE assignments (
    clinician_id INTEGER NOT NULL REFERENCES users(id),
    patient_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (clinician_id, patient_id)
);
CREATE TABLE regimens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES users(id),
    drug TEXT NOT NULL,
    dose_mg REAL NOT NULL,
    interval_days INTEGER NOT NULL,
    indication TEXT NOT NULL,
    start_date TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX regimens_patient ON regimens(patient_id, id);
CREATE TABLE injections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES users(id),
    given_on TEXT NOT NULL,
    dose_mg REAL NOT NULL,
    site TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX injections_patient ON injections(patient_id, given_on);
CREATE TABLE weekly_scores (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES users(id),
    week_start TEXT NOT NULL,
    poem_days TEXT NOT NULL,
    poem_total INTEGER NOT NULL,
    pp_nrs REAL NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX weekly_scores_patient ON weekly_scores(patient_id, week_start);
CREATE TABLE reactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES users(id),
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
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reaction_id INTEGER NOT NULL REFERENCES reactions(id),
    clinician_id INTEGER NOT NULL REFERENCES users(id),
    scores_json TEXT NOT NULL,
    easi REAL,
    scorad REAL,
    causality_json TEXT NOT NULL,
    alternative_causes TEXT NOT NULL,
    outcome TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX assessments_reaction ON assessments(reaction_id, id);
CREATE TABLE icsr_exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reaction_id INTEGER NOT NULL REFERENCES reactions(id),
    clinician_id INTEGER NOT NULL REFERENCES users(id),
    case_id TEXT NOT NULL,
    xml TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER REFERENCES users(id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id INTEGER,
    before_json TEXT,
    after_json TEXT
);
CREATE TABLE sessions (
    token TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_unix INTEGER NOT NULL
);
