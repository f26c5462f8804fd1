-- LeadScoring.Orleans: the PostgreSQL schema and queries behind Orleans' ADO.NET clustering, reminders and grain
-- storage (Microsoft.Orleans.Clustering.AdoNet, .Reminders.AdoNet, .Persistence.AdoNet 10.4.2, invariant "Npgsql").
--
-- Written for LeadScoring; not Orleans' own scripts. The ADO.NET providers ship no SQL: each reads its statements from
-- a table OrleansQuery (QueryKey, QueryText) and runs them with its own parameters (@DeploymentId, @GrainId, ...),
-- reading the result columns it expects by name (Version, Address, Port, ...). Only those keys, parameters and
-- result columns are the providers' contract; the tables below and the statements are ours.
--
-- LeadScoringOrleansSchema.EnsureAsync(connectionString) applies this file: the "--@migration N description"
-- sections once each, in order, recorded in orleans_schema_version, then every "--@query Key" section into
-- OrleansQuery (replacing the text of a key already there), in one transaction under an advisory lock.
-- A migration that has shipped is never edited: a change is a new migration with the next number.
-- Every time is a timestamptz: the providers send UTC DateTimes, which Npgsql writes as timestamptz.

--@migration 1 Orleans membership, reminders, grain state and the query table
CREATE TABLE orleansquery (
    querykey  text NOT NULL PRIMARY KEY,  -- the provider's name for the statement (e.g. MembershipReadAllKey)
    querytext text NOT NULL
);

-- One row per cluster (the provider's @DeploymentId is Orleans' ClusterId). Its version is the membership table's
-- version: a silo's row is added or changed only by a writer that read the current version, together with a raise
-- of it by one (optimistic concurrency).
CREATE TABLE orleans_cluster (
    cluster_id text        NOT NULL PRIMARY KEY,
    version    integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A silo of a cluster: its endpoint and generation (a restarted silo is a new row), status and liveness.
CREATE TABLE orleans_silo (
    cluster_id      text        NOT NULL REFERENCES orleans_cluster (cluster_id) ON DELETE CASCADE,
    address         text        NOT NULL,
    port            integer     NOT NULL,
    generation      integer     NOT NULL,
    silo_name       text        NOT NULL,
    host_name       text        NOT NULL,
    status          integer     NOT NULL,  -- Orleans' SiloStatus: 3 active, 6 dead, ...
    proxy_port      integer     NOT NULL,  -- the gateway port; 0 when the silo is no gateway
    suspect_times   text        NULL,      -- the suspicions of other silos, in the provider's own text form
    start_time      timestamptz NOT NULL,
    i_am_alive_time timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, address, port, generation)
);

-- Reminders: one row per grain and reminder name. grain_hash is Orleans' uniform hash of the grain (as a signed
-- integer): each silo reads the reminders of its hash range.
CREATE TABLE orleans_reminder (
    service_id    text        NOT NULL,
    grain_id      text        NOT NULL,
    reminder_name text        NOT NULL,
    grain_hash    integer     NOT NULL,
    start_time    timestamptz NOT NULL,
    period_ms     bigint      NOT NULL,
    version       integer     NOT NULL,  -- the reminder's ETag
    PRIMARY KEY (service_id, grain_id, reminder_name)
);
CREATE INDEX ix_orleans_reminder_hash ON orleans_reminder (service_id, grain_hash);

-- Grain state: one row per grain and state type, keyed by the grain's key as the provider splits it (two 64-bit
-- halves of an integer or GUID key, and the string key or key extension; '' when there is none).
CREATE TABLE orleans_grain_state (
    service_id   text        NOT NULL,
    grain_type   text        NOT NULL,
    key_n0       bigint      NOT NULL,
    key_n1       bigint      NOT NULL,
    key_text     text        NOT NULL,
    payload      bytea       NULL,      -- NULL: the state was cleared (the row and its version stay)
    version      integer     NOT NULL,  -- the state's ETag: 1 on the first write, raised by one at each write or clear
    modified_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, grain_type, key_n0, key_n1, key_text)
);

-- ---------------------------------------------------------------------------------------------------------- clustering

--@query InsertMembershipVersionKey
-- Creates the cluster's row (version 0) unless it exists; true when it was created.
WITH created AS (
    INSERT INTO orleans_cluster (cluster_id) VALUES (@DeploymentId)
    ON CONFLICT (cluster_id) DO NOTHING
    RETURNING cluster_id
)
SELECT EXISTS (SELECT 1 FROM created);

--@query MembershipReadAllKey
-- The cluster's version, with each of its silos (one row with NULL silo columns when it has none).
SELECT c.version AS "Version", s.address AS "Address", s.port AS "Port", s.generation AS "Generation",
       s.silo_name AS "SiloName", s.host_name AS "HostName", s.status AS "Status", s.proxy_port AS "ProxyPort",
       s.suspect_times AS "SuspectTimes", s.start_time AS "StartTime", s.i_am_alive_time AS "IAmAliveTime"
FROM orleans_cluster c
LEFT JOIN orleans_silo s ON s.cluster_id = c.cluster_id
WHERE c.cluster_id = @DeploymentId;

--@query MembershipReadRowKey
-- The cluster's version, with one silo (NULL silo columns when it is not there).
SELECT c.version AS "Version", s.address AS "Address", s.port AS "Port", s.generation AS "Generation",
       s.silo_name AS "SiloName", s.host_name AS "HostName", s.status AS "Status", s.proxy_port AS "ProxyPort",
       s.suspect_times AS "SuspectTimes", s.start_time AS "StartTime", s.i_am_alive_time AS "IAmAliveTime"
FROM orleans_cluster c
LEFT JOIN orleans_silo s
       ON s.cluster_id = c.cluster_id AND s.address = @Address AND s.port = @Port AND s.generation = @Generation
WHERE c.cluster_id = @DeploymentId;

--@query InsertMembershipKey
-- Adds a silo if the cluster's version is still @Version, the one the silo read (the provider passes the ETag of
-- the version it read, not the next one), and raises the version by one; true when both happened. The cluster's row
-- is locked first, so a concurrent change waits and then finds the version moved.
WITH cluster AS (
    SELECT cluster_id FROM orleans_cluster
    WHERE cluster_id = @DeploymentId AND version = @Version
    FOR UPDATE
), added AS (
    INSERT INTO orleans_silo (cluster_id, address, port, generation, silo_name, host_name, status, proxy_port,
                              start_time, i_am_alive_time)
    SELECT cluster_id, @Address, @Port, @Generation, COALESCE(@SiloName, ''), COALESCE(@HostName, ''), @Status,
           COALESCE(@ProxyPort, 0), @StartTime, @IAmAliveTime
    FROM cluster
    ON CONFLICT (cluster_id, address, port, generation) DO NOTHING
    RETURNING cluster_id
), raised AS (
    UPDATE orleans_cluster SET version = version + 1
    WHERE cluster_id IN (SELECT cluster_id FROM added)
    RETURNING cluster_id
)
SELECT EXISTS (SELECT 1 FROM raised);

--@query UpdateMembershipKey
-- Changes a silo's status, suspicions and liveness under the same version rule as InsertMembershipKey.
WITH cluster AS (
    SELECT cluster_id FROM orleans_cluster
    WHERE cluster_id = @DeploymentId AND version = @Version
    FOR UPDATE
), changed AS (
    UPDATE orleans_silo s
    SET status = @Status, suspect_times = @SuspectTimes, i_am_alive_time = @IAmAliveTime
    FROM cluster c
    WHERE s.cluster_id = c.cluster_id AND s.address = @Address AND s.port = @Port AND s.generation = @Generation
    RETURNING s.cluster_id
), raised AS (
    UPDATE orleans_cluster SET version = version + 1
    WHERE cluster_id IN (SELECT cluster_id FROM changed)
    RETURNING cluster_id
)
SELECT EXISTS (SELECT 1 FROM raised);

--@query UpdateIAmAlivetimeKey
-- A silo's heartbeat: not versioned (other silos read it, nobody races on it).
UPDATE orleans_silo SET i_am_alive_time = @IAmAliveTime
WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation;

--@query GatewaysQueryKey
-- The gateways of the cluster's silos in status @Status (active), for clients.
SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
FROM orleans_silo
WHERE cluster_id = @DeploymentId AND status = @Status AND proxy_port > 0;

--@query DeleteMembershipTableEntriesKey
-- Forgets a cluster: its row and (by the foreign key) its silos.
DELETE FROM orleans_cluster WHERE cluster_id = @DeploymentId;

--@query CleanupDefunctSiloEntriesKey
-- Removes the rows of silos declared dead (status 6) that have not been heard of since @IAmAliveTime.
DELETE FROM orleans_silo
WHERE cluster_id = @DeploymentId AND status = 6 AND i_am_alive_time < @IAmAliveTime;

-- ----------------------------------------------------------------------------------------------------------- reminders

--@query UpsertReminderRowKey
-- Adds or replaces a reminder; its new version (the ETag) comes back.
INSERT INTO orleans_reminder (service_id, grain_id, reminder_name, grain_hash, start_time, period_ms, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @GrainHash, @StartTime, @Period, 0)
ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
SET grain_hash = EXCLUDED.grain_hash, start_time = EXCLUDED.start_time, period_ms = EXCLUDED.period_ms,
    version = orleans_reminder.version + 1
RETURNING version AS "Version";

--@query ReadReminderRowKey
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
       version AS "Version"
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName;

--@query ReadReminderRowsKey
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
       version AS "Version"
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_id = @GrainId;

--@query ReadRangeRows1Key
-- A hash range that does not wrap around (as signed integers): (@BeginHash, @EndHash].
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
       version AS "Version"
FROM orleans_reminder
WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash;

--@query ReadRangeRows2Key
-- A hash range that wraps around: above @BeginHash, or up to @EndHash.
SELECT grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime", period_ms AS "Period",
       version AS "Version"
FROM orleans_reminder
WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash);

--@query DeleteReminderRowKey
-- Removes a reminder if its version is still @Version; true when it was removed.
WITH removed AS (
    DELETE FROM orleans_reminder
    WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName AND version = @Version
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM removed);

--@query DeleteReminderRowsKey
DELETE FROM orleans_reminder WHERE service_id = @ServiceId;

-- -------------------------------------------------------------------------------------------------------- grain state

--@query ReadFromStorageKey
-- The state and its version; no row when the grain never wrote (the provider then starts from a new state).
SELECT payload AS "PayloadBinary", version AS "Version"
FROM orleans_grain_state
WHERE service_id = @ServiceId AND grain_type = @GrainTypeString AND key_n0 = @GrainIdN0 AND key_n1 = @GrainIdN1
  AND key_text = COALESCE(@GrainIdExtensionString, '');

--@query WriteToStorageKey
-- With @GrainStateVersion (the grain's ETag): replaces the state if the stored version is still that one. Without:
-- adds the first state if none is stored. The new version comes back; no row (the provider's "version conflict")
-- when the stored version moved on or a state is there already.
WITH replaced AS (
    UPDATE orleans_grain_state
    SET payload = @PayloadBinary, version = version + 1, modified_at = now()
    WHERE service_id = @ServiceId AND grain_type = @GrainTypeString AND key_n0 = @GrainIdN0 AND key_n1 = @GrainIdN1
      AND key_text = COALESCE(@GrainIdExtensionString, '') AND version = CAST(@GrainStateVersion AS integer)
    RETURNING version
), added AS (
    INSERT INTO orleans_grain_state (service_id, grain_type, key_n0, key_n1, key_text, payload, version)
    SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, COALESCE(@GrainIdExtensionString, ''), @PayloadBinary, 1
    WHERE CAST(@GrainStateVersion AS integer) IS NULL
    ON CONFLICT (service_id, grain_type, key_n0, key_n1, key_text) DO NOTHING
    RETURNING version
)
SELECT version AS "NewGrainStateVersion" FROM replaced
UNION ALL
SELECT version FROM added;

--@query ClearStorageKey
-- Clears the state (keeps the row, raises the version) if the stored version is still @GrainStateVersion.
UPDATE orleans_grain_state
SET payload = NULL, version = version + 1, modified_at = now()
WHERE service_id = @ServiceId AND grain_type = @GrainTypeString AND key_n0 = @GrainIdN0 AND key_n1 = @GrainIdN1
  AND key_text = COALESCE(@GrainIdExtensionString, '') AND version = CAST(@GrainStateVersion AS integer)
RETURNING version;

--@query DeleteStorageKey
-- Deletes the row (AdoNetGrainStorageOptions.DeleteStateOnClear) if the stored version is still @GrainStateVersion;
-- the value returned only tells the provider that it happened.
DELETE FROM orleans_grain_state
WHERE service_id = @ServiceId AND grain_type = @GrainTypeString AND key_n0 = @GrainIdN0 AND key_n1 = @GrainIdN1
  AND key_text = COALESCE(@GrainIdExtensionString, '') AND version = CAST(@GrainStateVersion AS integer)
RETURNING version + 1;
