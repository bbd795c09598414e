import CStackWalk
import Foundation
import Runtime

/// Capture (the frame-pointer walk in C) and symbolication (the `Runtime` module) of a ``CapturedStack``; the
/// value itself lives in PoolModel, which links neither.
extension CapturedStack {
    /// Captures the caller's stack, skipping `skip` innermost frames (the pool's own).
    @inline(never)
    public static func capture(skip: Int = 0, limit: Int = 48) -> CapturedStack? {
        let addresses = [UInt](unsafeUninitializedCapacity: limit) { buffer, count in
            buffer.withMemoryRebound(to: UInt.self) { raw in
                // +1: this function's own frame.
                count = Int(pooltop_walk_frames(raw.baseAddress, Int32(limit), Int32(skip + 1)))
            }
        }
        return addresses.isEmpty ? nil : CapturedStack(addresses: addresses)
    }

    /// Demangled, file:line frames, innermost first. Computed once, then cached; safe from any thread.
    public func symbolicated() -> [StackFrame] {
        if let frames = cached.withLock({ $0 }) { return frames }
        var frames: [StackFrame] = []
        if let backtrace = RuntimeBacktrace.make(returnAddresses: addresses),
            let symbolicated = backtrace.symbolicated(with: ImageMapCache.shared)
        {
            for (index, frame) in symbolicated.frames.enumerated() {
                if frame.isSwiftRuntimeFailure || frame.isSwiftThunk { continue }
                let symbol = frame.symbol
                frames.append(
                    StackFrame(
                        index: index, symbol: symbol?.name ?? "\(frame.captured)", file: symbol?.sourceLocation?.path,
                        line: symbol?.sourceLocation?.line, image: symbol?.imageName))
            }
        } else {
            frames = addresses.enumerated().map {
                StackFrame(index: $0.offset, symbol: "0x" + String($0.element, radix: 16))
            }
        }
        cached.withLock { $0 = frames }
        return frames
    }
}

enum ImageMapCache {
    /// Captured once; images loaded later (dlopen) are not symbolicated, which a pool does not need.
    static let shared: ImageMap = ImageMap.capture()
}

/// Builds a `Runtime.Backtrace` from raw return addresses, for symbolication.
///
/// `Backtrace` has no public initializer from addresses, but it is `Codable`: its encoding holds the
/// architecture, the image map and the frames in Compact Backtrace Format (swift/docs/
/// CompactBacktraceFormat.md: an info byte, then per frame an instruction byte and a big-endian address).
enum RuntimeBacktrace {
    /// The JSON of a real backtrace with the cached image map, whose frames are replaced.
    private static let template: Data? = {
        guard let backtrace = try? Backtrace.capture(algorithm: .fast, limit: 1, images: ImageMapCache.shared) else {
            return nil
        }
        return try? JSONEncoder().encode(backtrace)
    }()

    static func make(returnAddresses: [UInt]) -> Backtrace? {
        guard let template, var json = (try? JSONSerialization.jsonObject(with: template)) as? [String: Any] else {
            return nil
        }
        // Info byte: version 0, 64-bit words. Each frame: `ra`, absolute, 8 address bytes; then `end`.
        var bytes: [UInt8] = [0b0000_0010]
        for address in returnAddresses {
            bytes.append(0b0010_1111)
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: address >> UInt(shift)))
            }
        }
        bytes.append(0)
        json["backtrace"] = Data(bytes).base64EncodedString()
        guard let data = try? JSONSerialization.data(withJSONObject: json) else { return nil }
        return try? JSONDecoder().decode(Backtrace.self, from: data)
    }
}
