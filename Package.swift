// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "pooltop",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ConnectionManager", targets: ["ConnectionManager"]),
        .library(name: "PoolModel", targets: ["PoolModel"]),
        .library(name: "LocalCluster", targets: ["LocalCluster"]),
        .executable(name: "pooltop", targets: ["pooltop"]),
        .executable(name: "pooltop-attach", targets: ["pooltop-attach"]),
        .executable(name: "pooltop-bench", targets: ["pooltop-bench"]),
        .executable(name: "pooltop-example-service", targets: ["pooltop-example-service"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CNCurses", providers: [.apt(["libncurses-dev"])]),
        // A frame-pointer stack walk (≈ 0.1 µs) for checkout stacks; symbolication uses the Runtime module.
        .target(name: "CStackWalk"),
        // The pure values a pool is seen through (snapshots, the control protocol and its client): no libpq, only
        // FoundationEssentials, so that the attached dashboard (pooltop-attach) maps neither libpq nor ICU.
        .target(name: "PoolModel"),
        .target(
            name: "ConnectionManager",
            dependencies: [
                "PoolModel", "CLibPQ", "CStackWalk",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(name: "LocalCluster"),
        .target(
            name: "Dashboard",
            dependencies: [
                "PoolModel", "CNCurses",
            ]
        ),
        // `pooltop attach`'s command line, shared by pooltop (which checks the arguments, then execs pooltop-attach)
        // and pooltop-attach: no ConnectionManager.
        .target(
            name: "AttachCommandLine",
            dependencies: [
                "PoolModel", "Dashboard", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The attached dashboard alone: PoolModel + Dashboard (curses) + ArgumentParser, no libpq, no full
        // Foundation (BENCHMARKS.md, "Attached dashboard footprint").
        .executableTarget(name: "pooltop-attach", dependencies: ["AttachCommandLine"]),
        .executableTarget(
            name: "pooltop",
            dependencies: [
                "ConnectionManager", "Dashboard", "LocalCluster", "AttachCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "pooltop-bench",
            dependencies: [
                "ConnectionManager",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // A service embedding ConnectionManager with its control endpoint on (`pooltop attach` watches it); the
        // example a service author copies, and the end-to-end tests' service process.
        .executableTarget(name: "pooltop-example-service", dependencies: ["ConnectionManager"]),
        // The README's quick start, compiled so it can never rot.
        .executableTarget(name: "QuickStart", dependencies: ["ConnectionManager"]),
        // A tiny HTTP server on a real Unix socket playing a service's control endpoint, for the client, the
        // remote source and the CLI tests (not a mock of the database: the client's peer is a socket).
        .target(name: "ControlTestServer", dependencies: ["ConnectionManager"], path: "Tests/ControlTestServer"),
        .testTarget(
            name: "ConnectionManagerTests", dependencies: ["ConnectionManager", "LocalCluster", "ControlTestServer"]),
        .testTarget(name: "LocalClusterTests", dependencies: ["LocalCluster"]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard", "ConnectionManager", "ControlTestServer"]),
        .testTarget(name: "EndToEndTests", dependencies: ["LocalCluster", "ConnectionManager", "ControlTestServer"]),
    ],
    swiftLanguageModes: [.v6]
)
