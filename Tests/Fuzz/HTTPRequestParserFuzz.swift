// libFuzzer harness for HTTPRequestParser (Sources/ConnectionManager/Control/HTTPRequestParser.swift, which stands
// alone). Not part of `swift build`: built and run by Tests/Fuzz/run.sh:
//
//   swiftc -O -parse-as-library -sanitize=fuzzer,address \
//       Sources/ConnectionManager/Control/HTTPRequestParser.swift Tests/Fuzz/HTTPRequestParserFuzz.swift \
//       -o .build/fuzz/http-parser
//   .build/fuzz/http-parser -max_total_time=120 -max_len=12000 .build/fuzz/corpus Tests/Fuzz/Corpus/http
//
// Each input is fed whole, then again split at a point chosen by its first byte, then byte by byte; the three must
// agree, every outcome must respect the limits, and nothing may trap.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = HTTPLimits()

    var whole = HTTPRequestParser(limits: limits)
    let expected = whole.append(bytes)

    var split = HTTPRequestParser(limits: limits)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var outcome = split.append(bytes[0..<cut])
    if outcome == .needMore { outcome = split.append(bytes[cut...]) }
    precondition(outcome == expected, "a split at \(cut) changed the outcome")

    var single = HTTPRequestParser(limits: limits)
    var byByte: HTTPRequestParser.Outcome = .needMore
    for byte in bytes where byByte == .needMore { byByte = single.append([byte]) }
    if bytes.isEmpty { byByte = single.append([UInt8]()) }
    precondition(byByte == expected, "byte-by-byte reading changed the outcome")

    switch expected {
    case .request(let request):
        precondition(request.body.count <= limits.maxBodyBytes)
        precondition(request.headers.count <= limits.maxHeaderCount)
        precondition(request.path.hasPrefix("/"))
        precondition(request.version == "HTTP/1.1" || request.version == "HTTP/1.0")
    case .reject(let status, let reason):
        precondition(status.code >= 400 && status.code < 600 && !reason.isEmpty)
    case .needMore:
        // Incomplete input is never held beyond the header limit plus a body.
        precondition(whole.bufferedByteCount <= limits.maxHeaderBytes + 4 + limits.maxBodyBytes)
    }
    return 0
}
