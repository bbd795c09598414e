extension ConnectionPool {
    /// One loan of a connection. A value: copies refer to the same loan, and only the first checkin counts.
    ///
    /// Does not retain the pool (a shared reference count would be one more contended atomic per checkout):
    /// the pool must outlive its leases, which holds when leases are given back before the pool is dropped.
    public struct Lease: Sendable {
        /// The lent connection. Do not use it after `checkin`.
        public let connection: Connection
        /// The pool's id of the connection (as in `CheckoutRecord.connectionID`).
        public let connectionID: Int
        let slot: Int
        /// Which loan of `slot` this is: the seq of the slot's word while it is lent (`FastLane`).
        let seq: UInt64
        /// The pool, not retained: it outlives its leases (documented above; its deinit asserts no lease is
        /// out). Reached through `withPool`, which does not retain it either (a shared reference count touched
        /// by every thread on every checkin would be a contended atomic).
        let poolReference: Unmanaged<ConnectionPool>

        init(connection: Connection, connectionID: Int, slot: Int, seq: UInt64, pool: ConnectionPool) {
            self.connection = connection
            self.connectionID = connectionID
            self.slot = slot
            self.seq = seq
            poolReference = Unmanaged.passUnretained(pool)
        }

        @inline(__always)
        func withPool<T>(_ body: (ConnectionPool) -> T) -> T {
            poolReference._withUnsafeGuaranteedRef(body)
        }

        /// Gives the connection back; same as `pool.checkin(lease)`.
        public func checkin() { withPool { $0.checkin(self) } }

        /// This loan was given back (by any copy). A relaxed load of the slot's word: exact for the holder's own
        /// thread, which is the only one that gives a lease back in normal use.
        public var isCheckedIn: Bool {
            withPool { pool in !pool.lane.isLent(slot, seq: seq) }
        }

        /// Records the statement being run, for the leak detector (`CheckoutRecord.lastSQL`). Takes the slot's own
        /// lock briefly (never the pool's); ignored after checkin.
        public func recordSQL(_ sql: String?) {
            withPool { pool in updateRecord(in: pool) { $0.lastSQL = sql } }
        }

        /// Marks this session as expected to be long (no leak alarm). Ignored after checkin.
        public func markExpectedLong(_ isExpectedLong: Bool = true) {
            withPool { pool in updateRecord(in: pool) { $0.isExpectedLong = isExpectedLong } }
        }

        /// Changes this loan's holder record (ignored once given back); the next checkout rewrites it.
        private func updateRecord(in pool: ConnectionPool, _ change: (inout FastLane<Connection>.Record) -> Void) {
            pool.lane.withRecord(slot) { record in
                guard pool.lane.isLent(slot, seq: seq) else { return }
                change(&record)
                pool.lane.block(slot).pointee.recordOwner.store(0, ordering: .relaxed)
            }
        }
    }
}
