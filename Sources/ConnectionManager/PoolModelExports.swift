// The pure values (snapshots, the control protocol, its client) live in PoolModel so that the attached dashboard can
// use them without libpq or full Foundation; users of ConnectionManager see them as before.
@_exported import PoolModel
