-- Accord's only DDL: the canonical tables of METRICS.md, the edited state and bookkeeping.
-- Timestamps are TIMESTAMP holding UTC (no zone arithmetic in queries); dates are DATE.
-- No FOREIGN KEYs: DuckDB refuses updates to referenced rows, and importers must be able to upsert
-- records in any order; referential gaps are reported by the importers instead.
-- Statements are separated by ';' at line end and must each be idempotent (IF NOT EXISTS).

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS reps (
    rep_id VARCHAR PRIMARY KEY,
    name   VARCHAR NOT NULL,
    team   VARCHAR NOT NULL,
    region VARCHAR
);

CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    channel     VARCHAR NOT NULL,
    started_on  DATE NOT NULL,
    ended_on    DATE,
    cost        DOUBLE CHECK (cost IS NULL OR cost >= 0),
    CHECK (ended_on IS NULL OR ended_on >= started_on)
);

CREATE TABLE IF NOT EXISTS leads (
    lead_id         VARCHAR PRIMARY KEY,
    created_at      TIMESTAMP NOT NULL,
    source          VARCHAR NOT NULL,
    campaign_id     VARCHAR,
    company         VARCHAR,
    industry        VARCHAR,
    employees       INTEGER CHECK (employees IS NULL OR employees >= 0),
    country         VARCHAR,
    seniority       VARCHAR CHECK (seniority IS NULL OR seniority IN ('c_level', 'vp', 'director', 'manager', 'individual')),
    score           INTEGER CHECK (score IS NULL OR score BETWEEN 0 AND 100),
    demo_requested  BOOLEAN,
    mql_at          TIMESTAMP,
    owner_id        VARCHAR,
    assigned_at     TIMESTAMP,
    status          VARCHAR NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'recycled', 'converted')),
    rejected_reason VARCHAR,
    -- lead_id's integer (lead_keys below), which the figures join on; so in activities, deals and touches
    lead_key        BIGINT
);

CREATE TABLE IF NOT EXISTS activities (
    activity_id VARCHAR PRIMARY KEY,
    lead_id     VARCHAR,
    deal_id     VARCHAR,
    rep_id      VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    kind        VARCHAR NOT NULL CHECK (kind IN ('call', 'email', 'meeting')),
    lead_key    BIGINT
);

CREATE TABLE IF NOT EXISTS deals (
    deal_id           VARCHAR PRIMARY KEY,
    lead_id           VARCHAR,
    account           VARCHAR,
    created_at        TIMESTAMP NOT NULL,
    amount            DOUBLE NOT NULL CHECK (amount >= 0),
    stage             VARCHAR NOT NULL CHECK (stage IN ('discovery', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost')),
    expected_close_on DATE,
    closed_at         TIMESTAMP,
    owner_id          VARCHAR,
    lost_reason       VARCHAR,
    lead_key          BIGINT,
    -- deal_id's integer (deal_keys below), which the joins to stage history use; so in deal_stage_history
    deal_key          BIGINT,
    -- a closed deal must say when it closed, or "won in period" could not be computed for it
    CHECK ((stage IN ('closed_won', 'closed_lost')) = (closed_at IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS deal_stage_history (
    deal_id    VARCHAR NOT NULL,
    stage      VARCHAR NOT NULL CHECK (stage IN ('discovery', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost')),
    entered_at TIMESTAMP NOT NULL,
    deal_key   BIGINT,
    PRIMARY KEY (deal_id, stage, entered_at)
);

CREATE TABLE IF NOT EXISTS campaign_touches (
    lead_id     VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    touched_at  TIMESTAMP NOT NULL,
    lead_key    BIGINT,
    PRIMARY KEY (lead_id, campaign_id, touched_at)
);

-- Accord's integer for each lead_id seen in any record (core.db.LINK_KEYS); leads, activities, deals and touches
-- hold it beside their lead_id as lead_key, and the figures join on it: text joins were the largest cost at ten
-- million leads. Never imported, never shown.
-- No index: one at ten million ids took most of the memory the linking joins need; LINK_KEYS adds an id only
-- when absent, under the single writer.
CREATE TABLE IF NOT EXISTS lead_keys (
    lead_id  VARCHAR NOT NULL,
    lead_key BIGINT NOT NULL
);

-- The same for each deal_id (core.db.RECORD_KEYS), held by deals and stage-history rows as deal_key.
CREATE TABLE IF NOT EXISTS deal_keys (
    deal_id  VARCHAR NOT NULL,
    deal_key BIGINT NOT NULL
);

-- Edited state: every saved goal, SLA policy and quality-lead definition is a new row, never an update.
-- kind + subject name the thing edited (e.g. 'goal' / '2026-Q3', 'sla_policy' / 'default');
-- version counts saves of that thing from 1; the primary key makes two concurrent saves of the same
-- version impossible, which is what the optimistic-concurrency check relies on.
-- effective_from: from when the version applies (SLA policy and quality definition are effective-dated).
-- body: the validated pydantic model as JSON. History (before/after) is consecutive versions.
CREATE TABLE IF NOT EXISTS edit_versions (
    kind           VARCHAR NOT NULL CHECK (kind IN ('goal', 'sla_policy', 'quality_definition', 'access', 'exclusion', 'stall_rules', 'deal_snooze', 'rep_targets')),
    subject        VARCHAR NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    effective_from TIMESTAMP NOT NULL,
    body           JSON NOT NULL,
    saved_by       VARCHAR NOT NULL,
    saved_at       TIMESTAMP NOT NULL,
    reason         VARCHAR NOT NULL,
    PRIMARY KEY (kind, subject, version)
);

-- Every import run, so re-imports and their effects can be traced (file hash, counts, when, by whom).
CREATE TABLE IF NOT EXISTS import_runs (
    import_id   VARCHAR PRIMARY KEY,
    preset      VARCHAR NOT NULL,
    file_name   VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    imported_by VARCHAR NOT NULL,
    rows_read   INTEGER NOT NULL,
    rows_loaded INTEGER NOT NULL,
    rows_updated INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL
);

-- Rows an import refused, with where they came from and why; good rows of the same file still load.
CREATE TABLE IF NOT EXISTS quarantine (
    import_id  VARCHAR NOT NULL,
    file_name  VARCHAR NOT NULL,
    line       INTEGER NOT NULL,
    target     VARCHAR NOT NULL,
    column_name VARCHAR,
    reason     VARCHAR NOT NULL,
    raw        VARCHAR NOT NULL
);

-- Proposed changes awaiting the other team's sign-off (quality-lead definition, when joint sign-off is on).
-- Approving one saves it through the write path against base_version, so a proposal made on a version
-- that has since changed is refused like any stale save.
CREATE TABLE IF NOT EXISTS proposals (
    proposal_id    VARCHAR PRIMARY KEY,
    kind           VARCHAR NOT NULL CHECK (kind IN ('goal', 'sla_policy', 'quality_definition')),
    subject        VARCHAR NOT NULL,
    base_version   INTEGER NOT NULL,
    effective_from TIMESTAMP NOT NULL,
    body           JSON NOT NULL,
    proposed_by    VARCHAR NOT NULL,
    proposed_team  VARCHAR NOT NULL,
    proposed_at    TIMESTAMP NOT NULL,
    reason         VARCHAR NOT NULL,
    status         VARCHAR NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    decided_by     VARCHAR,
    decided_at     TIMESTAMP,
    decision_note  VARCHAR
);

-- Writes the write path refused (rights), kept for audit: who tried what, when, and why it was refused.
-- A log, not state: writing it changes no figure and bumps no data version.
CREATE TABLE IF NOT EXISTS refused_writes (
    refused_at TIMESTAMP NOT NULL,
    actor      VARCHAR NOT NULL,
    team       VARCHAR NOT NULL,
    action     VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL
);

-- Records an editor excluded from the figures (an outlier, a test deal), one row per record while it is
-- excluded. The decision's history (who, when, why, and restores) is edit_versions kind 'exclusion',
-- subject '<table>:<record id>'; the write path keeps this table in step in the same transaction.
CREATE TABLE IF NOT EXISTS exclusions (
    table_name VARCHAR NOT NULL CHECK (table_name IN ('leads', 'deals')),
    record_id  VARCHAR NOT NULL,
    PRIMARY KEY (table_name, record_id)
);

-- Values an importer had to supply because the source had none (X Education has no dates at all): every
-- record of `table_name` whose `column_name` equals `stamped_at` carries the stamp, not a fact. Written in
-- the import's transaction; `note` says which file and why, for the data-quality profile.
CREATE TABLE IF NOT EXISTS import_stamps (
    table_name  VARCHAR NOT NULL CHECK (table_name IN ('leads', 'deals')),
    column_name VARCHAR NOT NULL,
    stamped_at  TIMESTAMP NOT NULL,
    note        VARCHAR NOT NULL,
    PRIMARY KEY (table_name, column_name, stamped_at)
);

-- What the figures count, the views counted_leads and counted_deals (the records less those excluded, with
-- created_known false where the creation date is an importer's stamp), are made by core.db.refresh_views
-- from the current exclusions and stamps, so that without any (the usual case) they cost nothing.
