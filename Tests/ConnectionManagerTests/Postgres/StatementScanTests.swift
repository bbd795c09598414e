import Testing

@testable import ConnectionManager

/// The lexical guess behind `DB_SESSION_RESET=auto` and the NUL check: no database needed.
@Suite("StatementScan")
struct StatementScanTests {
    @Test(arguments: [
        "", "SELECT 1", "select $1::int", "  -- c\n/* a /* nested */ b */ WITH x AS (SELECT 1) SELECT * FROM x",
        "INSERT INTO t VALUES (1)", "update t set a = 1", "DELETE FROM t", "VALUES (1); TABLE t;", "SHOW TimeZone",
        "BEGIN", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "COMMIT", "END", "ROLLBACK", "ABORT",
        "SAVEPOINT s; RELEASE s", "SET LOCAL statement_timeout = 5", "set transaction read only",
        "SET CONSTRAINTS ALL DEFERRED", "EXPLAIN SELECT 1", "LOCK TABLE t", "SELECT attempts, contemporary FROM t",
    ])
    func plainStatementsLeaveTheSessionAlone(_ sql: String) {
        let scan = StatementScan(sql)
        #expect(!scan.mayChangeSessionState, "\(sql)")
        #expect(scan.nulOffset == nil)
    }

    @Test(arguments: [
        "SET search_path = x", "set role r", "SET SESSION AUTHORIZATION r", "RESET ALL", "PREPARE p AS SELECT 1",
        "CREATE TEMP TABLE t (a int)", "SELECT 1 INTO TEMPORARY t", "SELECT set_config('a.b', 'c', false)",
        "SELECT pg_catalog.set_config('a.b', 'c', false)", "SELECT pg_advisory_lock(1)", "LISTEN c", "UNLISTEN *",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1", "DO $$ BEGIN END $$", "SELECT 1; SET ROLE r",
        "SELECT 1;SET ROLE r", "SELECT 'a;b' ; /* x */ set role r", "(SELECT 1)", "CALL p()", "SELECT setseed(0.5)",
        "SELECT dblink_connect('x')", "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "DISCARD ALL",
        "SELECT * FROM pg_temp.t", "/* SELECT */ SET x = 1",
    ])
    func statementsThatMayChangeTheSessionAreMarked(_ sql: String) {
        #expect(StatementScan(sql).mayChangeSessionState, "\(sql)")
    }

    @Test func commitsAndRollbacksAreTold() {
        #expect(StatementScan("commit work").endsTransaction)
        #expect(StatementScan(" END;").endsTransaction)
        #expect(StatementScan("PREPARE TRANSACTION 'x'").endsTransaction)
        #expect(!StatementScan("SELECT 'commit'").endsTransaction)
        #expect(StatementScan("ROLLBACK TO SAVEPOINT s").rollsBack)
        #expect(StatementScan("abort").rollsBack)
        #expect(!StatementScan("COMMIT").rollsBack)
    }

    @Test func aNULIsFoundWhereverItIs() {
        #expect(StatementScan("SELECT 1\0; DROP TABLE t").nulOffset == 8)
        #expect(StatementScan("\0").nulOffset == 0)
        #expect(StatementScan("-- comment \0\nSELECT 1").nulOffset == 11)
        #expect(StatementScan("/* \0 */ SELECT 1").nulOffset == 3)
        #expect(StatementScan("SET \0 role").nulOffset == 4)
        #expect(StatementScan("SELECT 'é' || 'ü'").nulOffset == nil)
    }
}
