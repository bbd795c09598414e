import Foundation
import Logging
import Testing

@testable import ConnectionManager

#if canImport(Glibc)
    import Glibc
#endif

/// Helpers of the control endpoint tests: a private socket directory, curl, and a raw client for what curl
/// cannot do (send half a request, hang up mid-response).
enum ControlTests {
    /// A fresh 0700 directory for one test's socket (short: socket paths are limited to 107 bytes).
    static func directory(mode: mode_t = 0o700) -> String {
        var template = Array("/tmp/ct-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        chmod(path, mode)
        return path
    }

    /// A manager on the shared cluster with its control socket at `socket`.
    static func manager(
        _ test: String, socket: String, _ adjust: (inout ConnectionPoolConfig) -> Void = { _ in }
    ) throws -> ConnectionManager {
        try ManagerTests.manager(test) { config in
            config.controlSocket = .path(socket)
            config.poolName = "ctl-\(test)"
            adjust(&config)
        }
    }

    static var hasCurl: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")
            || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/curl")
    }

    /// What curl got: the status (0 when there was no response), the body, stderr.
    struct CurlResult {
        var status: Int
        var body: String
        var headers: String
        /// Everything curl wrote (headers, body, the status line it appends).
        var raw: String
        var exitCode: Int32

        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }
    }

    /// `runuser -u nobody --`: a client of another uid.
    static let asNobody = ["/usr/sbin/runuser", "-u", "nobody", "--"]

    /// A client of uid `nobody` whose primary group is `gid` (`setpriv`; the group need not exist).
    static func asNobody(primaryGroup gid: UInt32) -> [String] {
        ["/usr/bin/setpriv", "--reuid=65534", "--regid=\(gid)", "--clear-groups", "--"]
    }

    /// A client of uid `nobody` with `gid` as a supplementary group only.
    static func asNobody(supplementaryGroup gid: UInt32) -> [String] {
        ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--groups=\(gid)", "--"]
    }

    /// `curl --unix-socket socket http://localhost<route>`, optionally run through `prefix` (another user).
    static func curl(
        _ socket: String, _ route: String, method: String = "GET", body: String? = nil, as prefix: [String] = []
    ) throws -> CurlResult {
        // The headers come on stdout (-i) so that a client of another uid needs no file of ours.
        var arguments = [
            "-s", "-i", "--max-time", "10", "--unix-socket", socket, "-X", method, "-w", "\n%{http_code}",
            "http://localhost\(route)",
        ]
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        let process = Process()
        let command = prefix + ["/usr/bin/curl"] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var text = String(decoding: data, as: UTF8.self)
        var status = 0
        if let newline = text.lastIndex(of: "\n") {
            status = Int(text[text.index(after: newline)...]) ?? 0
            text = String(text[..<newline])
        }
        var headers = ""
        if let split = text.range(of: "\r\n\r\n") {
            headers = String(text[..<split.lowerBound])
            text = String(text[split.upperBound...])
        }
        return CurlResult(
            status: status, body: text, headers: headers, raw: String(decoding: data, as: UTF8.self),
            exitCode: process.terminationStatus)
    }

    /// A raw client connection to a Unix socket (blocking, with a receive timeout).
    final class RawClient {
        let fd: Int32

        init(_ path: String, receiveTimeout: Double = 10) throws {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(path.utf8)
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard connected == 0 else {
                let code = errno
                Glibc.close(fd)
                throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
            }
            var timeout = timeval(tv_sec: Int(receiveTimeout), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { Glibc.close(fd) }

        func send(_ text: String) {
            send(Array(text.utf8))
        }

        func send(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if n <= 0 { return }
                offset += n
            }
        }

        /// Everything until the server closes (or the receive timeout passes).
        func readAll() -> String {
            var data: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                data += chunk[0..<n]
            }
            return String(decoding: data, as: UTF8.self)
        }

        /// The status code of a raw response, 0 when there was none.
        static func status(_ response: String) -> Int {
            guard response.hasPrefix("HTTP/1.1 ") else { return 0 }
            return Int(response.dropFirst(9).prefix(3)) ?? 0
        }
    }
}

/// A log handler keeping every line (for "the refusal is logged", "no password in the log").
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    // Safety: `lines` is only touched under `lock`; the other properties are set once before the logger is shared.
    private let lock = NSLock()
    private var storage: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let extra = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lock.lock()
        storage.append("\(event.level) \(event.message) \(extra.joined(separator: " "))")
        lock.unlock()
    }

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
