import Foundation
import Testing

@testable import ConnectionManager

/// The control endpoint's settings: parsing, defaults, typed errors naming the setting and the (cut) value.
@Suite("Control settings")
struct ControlSettingsTests {
    static let url = "postgresql://app:s3cr3t-pw@db.example:5433/app"

    @Test func defaults() throws {
        let config = ConnectionPoolConfig(databaseURL: try DatabaseURL(Self.url))
        #expect(config.controlSocket == .off)
        #expect(config.controlGroup == nil)
        #expect(config.controlGroupCanAct == false)
        #expect(PoolName.isValid(config.poolName))
        #expect(config.poolName == PoolName.sanitized(ProcessInfo.processInfo.processName))
    }

    @Test func environmentValues() throws {
        func read(_ environment: [String: String]) throws -> ConnectionPoolConfig {
            try ConnectionPoolConfig.fromEnvironment(["DATABASE_URL": Self.url].merging(environment) { $1 })
        }
        #expect(try read(["DB_CONTROL_SOCKET": "off"]).controlSocket == .off)
        #expect(try read(["DB_CONTROL_SOCKET": " auto "]).controlSocket == .auto)
        #expect(
            try read(["DB_CONTROL_SOCKET": "/run/orders/control.sock"]).controlSocket
                == .path("/run/orders/control.sock"))
        #expect(try read(["DB_CONTROL_GROUP": "1234"]).controlGroup == .gid(1234))
        #expect(try read(["DB_CONTROL_GROUP": "on-call_team"]).controlGroup == .name("on-call_team"))
        #expect(try read(["DB_CONTROL_GROUP": ""]).controlGroup == nil)
        #expect(try read(["DB_POOL_NAME": "orders.v2_api-1"]).poolName == "orders.v2_api-1")
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        let variable: String
        let value: String
        var testDescription: String { "\(variable)=\(value.prefix(20))" }
    }

    static let bad: [Bad] = [
        .init(variable: "DB_CONTROL_SOCKET", value: "yes please"),
        .init(variable: "DB_CONTROL_SOCKET", value: "relative/path.sock"),
        .init(variable: "DB_CONTROL_SOCKET", value: "/tmp/dir/"),
        .init(variable: "DB_CONTROL_SOCKET", value: "/" + String(repeating: "x", count: 200)),
        .init(variable: "DB_POOL_NAME", value: ""),
        .init(variable: "DB_POOL_NAME", value: "orders api"),
        .init(variable: "DB_POOL_NAME", value: "../etc"),
        .init(variable: "DB_POOL_NAME", value: String(repeating: "n", count: 64)),
        .init(variable: "DB_POOL_NAME", value: "ordërs"),
        .init(variable: "DB_CONTROL_GROUP", value: "-x"),
        .init(variable: "DB_CONTROL_GROUP", value: "a b"),
        .init(variable: "DB_CONTROL_GROUP", value: "99999999999"),
        .init(variable: "DB_CONTROL_GROUP_CAN_ACT", value: "perhaps"),
    ]

    @Test(arguments: bad)
    func badValuesNameTheSettingAndTheCutValue(_ input: Bad) throws {
        let error = try #require(throws: ConfigurationError.self) {
            try ConnectionPoolConfig.fromEnvironment(["DATABASE_URL": Self.url, input.variable: input.value])
        }
        guard case .invalidValue(let setting, let value, _) = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(setting == input.variable)
        #expect(value.count <= 61)
        #expect(input.value.hasPrefix(value.hasSuffix("…") ? String(value.dropLast()) : value))
        #expect(error.description.contains(input.variable))
    }

    @Test func poolNamesAreSanitized() {
        #expect(PoolName.sanitized("orders api") == "orders_api")
        #expect(PoolName.sanitized("") == "service")
        #expect(PoolName.sanitized("..") == "service")
        #expect(PoolName.sanitized(String(repeating: "a", count: 100)).utf8.count == 63)
        #expect(PoolName.sanitized("größe") == "gr____e")
    }

    @Test func aConfigurationBuiltInCodeIsValidatedToo() throws {
        var config = ConnectionPoolConfig(databaseURL: try DatabaseURL(Self.url))
        config.poolName = "has space"
        #expect(throws: ConfigurationError.self) { try config.validate() }
        config.poolName = "ok"
        config.controlSocket = .path("not/absolute")
        #expect(throws: ConfigurationError.self) { try config.validate() }
    }
}
