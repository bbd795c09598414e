import PoolModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Finds and reads theme files.
///
/// `load("NAME")` looks in each directory of `$POOLTOP_THEMES` (colon separated), then in the
/// `themes/` directory found by walking up from the executable's directory (so `.build/debug/pooltop`
/// finds the repository's `themes/`), then among the themes compiled into the binary (``EmbeddedThemes``: every
/// file of `themes/`), so a copied binary has them all; `default` and `monochrome` fall back to built-ins.
/// `load("PATH")` reads that file when the argument contains `/` or ends in `.toml`.
public struct ThemeLoader: Sendable {
    public var environment: [String: String]
    /// Directory of the running executable; `nil` skips the walk up.
    public var executableDirectory: String?

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executableDirectory: String? = ThemeLoader.currentExecutableDirectory()
    ) {
        self.environment = environment
        self.executableDirectory = executableDirectory
    }

    /// The directory of this process's executable, symlinks resolved.
    public static func currentExecutableDirectory() -> String? {
        ExecutablePath.current().map(ExecutablePath.directory(of:))
    }

    /// Where theme names are looked up, in order.
    public func searchDirectories() -> [String] {
        var dirs = (environment["POOLTOP_THEMES"] ?? "").split(separator: ":").map(String.init)
        if var dir = executableDirectory {
            while true {
                let candidate = (dir == "/" ? "" : dir) + "/themes"
                if Self.isDirectory(candidate) {
                    dirs.append(candidate)
                    break
                }
                let parent = ExecutablePath.directory(of: dir)
                if parent == dir { break }
                dir = parent
            }
        }
        return dirs
    }

    /// The theme the options ask for: monochrome when colors are disabled.
    public func theme(for options: DashboardOptions) throws(ThemeError) -> Theme {
        if options.colorsDisabled { return Theme.monochrome }
        return try load(options.theme)
    }

    /// Loads a theme by name or path (see the type's documentation).
    public func load(_ nameOrPath: String) throws(ThemeError) -> Theme {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
            return try Self.read(file: nameOrPath)
        }
        let dirs = searchDirectories()
        for dir in dirs {
            let path = (dir.hasSuffix("/") ? dir : dir + "/") + "\(nameOrPath).toml"
            if access(path, F_OK) == 0 { return try Self.read(file: path) }
        }
        if let text = EmbeddedThemes.texts[nameOrPath] {
            return try Self.parse(text, file: "(built-in) \(nameOrPath).toml", defaultName: nameOrPath)
        }
        switch nameOrPath {
        case "default": return Theme.builtinDefault
        case "monochrome": return Theme.monochrome
        default:
            let searched = dirs.isEmpty ? "no theme directory found" : "looked in " + dirs.joined(separator: ", ")
            let builtIn = EmbeddedThemes.texts.keys.sorted().joined(separator: ", ")
            throw ThemeError(
                kind: .notFound, file: nameOrPath,
                detail: "no theme named \"\(nameOrPath)\" (\(searched); built in: \(builtIn))")
        }
    }

    /// Reads and parses one theme file.
    public static func read(file: String) throws(ThemeError) -> Theme {
        // Say what is wrong with the path before Foundation does ("NSCocoaErrorDomain error 256"); a FIFO or
        // /dev/zero would block or never end.
        var info = stat()
        if stat(file, &info) != 0 {
            let reason =
                errno == ELOOP
                ? "it is a loop of symbolic links" : errno == ENOENT ? "no such file" : String(cString: strerror(errno))
            throw ThemeError(kind: .unreadable, file: file, detail: "cannot read the theme file: \(reason)")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw ThemeError(
                kind: .unreadable, file: file, detail: "it is a directory; expected a theme file (NAME.toml)")
        }
        if (info.st_mode & S_IFMT) != S_IFREG {
            throw ThemeError(
                kind: .unreadable, file: file, detail: "it is not a regular file (a device, FIFO or socket)")
        }
        if info.st_size > 1 << 20 {
            throw ThemeError(
                kind: .unreadable, file: file, detail: "it is \(info.st_size) bytes; a theme file is at most 1 MiB")
        }
        let text = try contents(of: file)
        var name = Substring(file.split(separator: "/").last ?? Substring(file))
        if name.hasSuffix(".toml") { name = name.dropLast(5) }
        return try parse(text, file: file, defaultName: String(name))
    }

    /// Parses theme TOML:
    /// ```toml
    /// name = "dark-256"        # optional
    /// monochrome = false       # optional: attributes only
    /// [roles]
    /// accent = { fg = 75, bg = "default", attrs = ["bold"] }
    /// ```
    public static func parse(_ text: String, file: String, defaultName: String = "theme") throws(ThemeError) -> Theme {
        let table: ThemeTOML.Table
        do {
            table = try ThemeTOML.parse(text)
        } catch {
            throw ThemeError(
                kind: .syntax, file: file, line: error.line, column: error.column, detail: "invalid TOML: \(error)")
        }
        func fail(_ kind: ThemeError.Kind, _ key: String, _ detail: String) -> ThemeError {
            ThemeError(kind: kind, file: file, line: line(of: key, in: text), key: key, detail: detail)
        }
        let name = table["name"]?.string ?? defaultName
        let isMonochrome = table["monochrome"]?.bool ?? false
        for key in table.keys where !["name", "monochrome", "roles", "description"].contains(key) {
            throw fail(
                .badValue, key, "unknown top-level key \"\(key)\" (expected name, description, monochrome, roles)")
        }
        guard let rolesValue = table["roles"] else {
            throw ThemeError(kind: .badValue, file: file, key: "roles", detail: "missing [roles] table")
        }
        guard let roles = rolesValue.table else { throw fail(.badValue, "roles", "\"roles\" must be a table") }
        var styles: [Role: RoleStyle] = [:]
        let known = Role.allCases.map(\.rawValue).joined(separator: ", ")
        for key in roles.keys.sorted() {
            guard let role = Role(rawValue: key) else {
                throw fail(.unknownRole, "roles.\(key)", "unknown role \"\(key)\" (roles: \(known))")
            }
            guard let entry = roles[key]?.table else {
                throw fail(.badValue, "roles.\(key)", "role \"\(key)\" must be a table like { fg = \"red\" }")
            }
            var style = RoleStyle()
            for field in entry.keys {
                let fullKey = "roles.\(key).\(field)"
                switch field {
                case "fg", "bg":
                    let color = try Self.color(entry[field]!, key: fullKey, fail: fail)
                    if field == "fg" { style.foreground = color } else { style.background = color }
                case "attrs":
                    guard let list = entry[field]?.array else {
                        throw fail(.badAttribute, fullKey, "attrs must be a list like [\"bold\"]")
                    }
                    for item in list {
                        switch item.string {
                        case "bold": style.emphasis.insert(.bold)
                        case "dim": style.emphasis.insert(.dim)
                        case "reverse": style.emphasis.insert(.reverse)
                        case "underline": style.emphasis.insert(.underline)
                        default:
                            throw fail(
                                .badAttribute, fullKey,
                                "unknown attribute \(item) (bold, dim, reverse, underline)")
                        }
                    }
                default:
                    throw fail(.badValue, fullKey, "unknown field \"\(field)\" (fg, bg, attrs)")
                }
            }
            styles[role] = style
        }
        return Theme(name: name, styles: styles, isMonochrome: isMonochrome)
    }

    private static func color(
        _ value: ThemeTOML.Value, key: String, fail: (ThemeError.Kind, String, String) -> ThemeError
    ) throws(ThemeError) -> ThemeColor {
        if let i = value.int {
            guard (0...255).contains(i) else { throw fail(.badColor, key, "color \(i) is out of range 0-255") }
            return .index(i)
        }
        if let s = value.string {
            guard let c = ThemeColor(name: s) else {
                throw fail(
                    .badColor, key,
                    "unknown color \"\(s)\" (use default, a name like red or bright-cyan, or 0-255)")
            }
            return c
        }
        throw fail(.badColor, key, "a color must be a name or a number 0-255")
    }

    /// Best-effort 1-based line of a dotted key (ThemeTOML keeps no positions for values).
    static func line(of dottedKey: String, in text: String) -> Int? {
        let parts = dottedKey.split(separator: ".").map(String.init)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // Find the role's line, then (for a field) the field at or after it.
        var start = 0
        for (depth, part) in parts.enumerated() where depth > 0 || parts.count == 1 {
            var found: Int?
            for i in start..<lines.count {
                let l = lines[i].trimmingSpaces
                if l.hasPrefix("#") { continue }
                if l.hasPrefix(part + " ") || l.hasPrefix(part + "=") || l.contains("[roles.\(part)]")
                    || l.contains(" \(part) =") || l.contains("{\(part) =") || l.contains(" \(part)=")
                {
                    found = i
                    break
                }
            }
            guard let f = found else { return start > 0 ? start + 1 : nil }
            start = f
        }
        return start + 1
    }
}

extension ThemeLoader {
    /// Whether `path` is a directory (following symlinks).
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

extension ThemeLoader {
    /// The text of a theme file (at most 1 MiB, checked before), read with `read(2)`; UTF-8 or an error saying so.
    static func contents(of file: String) throws(ThemeError) -> String {
        func failure(_ reason: String) -> ThemeError {
            ThemeError(kind: .unreadable, file: file, detail: "cannot read the theme file: \(reason)")
        }
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(String(cString: strerror(errno)))
            }
            bytes += chunk[..<count]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw failure("it is not UTF-8 text") }
        return text
    }
}

#if canImport(Glibc)
    private let systemRead = Glibc.read
#elseif canImport(Darwin)
    private let systemRead = Darwin.read
#endif
