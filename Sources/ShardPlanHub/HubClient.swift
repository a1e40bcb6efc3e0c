internal import CCurlShim
import Foundation
import ShardPlan

/// Reads a model from the Hugging Face Hub over HTTP(S) without downloading
/// weights: `config.json`, `model.safetensors.index.json`, and each shard's
/// header by two range requests (the 8-byte length, then the JSON header).
///
/// Honours `HF_ENDPOINT` (another Hub or a mirror), `HF_TOKEN` (sent as a bearer
/// token, for gated models), `HF_HUB_OFFLINE` (no requests at all, checked by
/// ``ModelLoader``), and huggingface_hub's `HF_HUB_ETAG_TIMEOUT` (seconds until a
/// server answers, default 10) and `HF_HUB_DOWNLOAD_TIMEOUT` (seconds a body may
/// stall, default 10). Each request is retried once after a network error or a
/// 5xx answer; a whole model read stops at its deadline (default 120 s), however
/// slowly a server trickles. Bodies are asked for uncompressed and refused when
/// compressed, so that a small compressed body cannot expand past the caps.
/// Progress over many shards, and while a request waits, goes to standard error.
public struct HubClient: HubFetching {
  /// The Hub's address, without a trailing slash.
  package var endpoint: String
  /// Bearer token, when set.
  package var token: String?
  /// Revision to read (a branch, tag or commit).
  package var revision: String
  /// Seconds a request may wait for the server's answer (`HF_HUB_ETAG_TIMEOUT`).
  package var responseTimeoutSeconds: Double
  /// Seconds a body may go without a byte (`HF_HUB_DOWNLOAD_TIMEOUT`).
  package var timeoutSeconds: Double
  /// Seconds one model read (config.json, index and every shard header) may take.
  package var deadlineSeconds: Double
  /// Where progress lines go; nil for silence.
  package var progress: (@Sendable (String) -> Void)?
  /// Answers requests in place of the network (the fuzzer's fake server); nil: HTTP.
  var transport: (@Sendable (URL, ClosedRange<Int>?) throws -> Response)?

  /// huggingface_hub's defaults for `HF_HUB_ETAG_TIMEOUT` and `HF_HUB_DOWNLOAD_TIMEOUT`.
  static let defaultTimeoutSeconds = 10.0

  /// A client of `endpoint` (the Hub by default), with an optional token and revision.
  public init(
    endpoint: String = "https://huggingface.co",
    token: String? = nil,
    revision: String = "main",
    responseTimeoutSeconds: Double = 10,
    timeoutSeconds: Double = 10,
    deadlineSeconds: Double = 120,
    progress: (@Sendable (String) -> Void)? = nil
  ) {
    var endpoint = endpoint
    while endpoint.hasSuffix("/") { endpoint.removeLast() }
    self.endpoint = endpoint
    self.token = token
    self.revision = revision
    self.responseTimeoutSeconds = responseTimeoutSeconds
    self.timeoutSeconds = timeoutSeconds
    self.deadlineSeconds = deadlineSeconds
    self.progress = progress
  }

  /// A client configured from `HF_ENDPOINT` and the token huggingface_hub would
  /// use (`HF_TOKEN`, else the `HF_TOKEN_PATH` or `HF_HOME/token` file), at
  /// `revision` (nil: main), reporting progress on stderr.
  public static func fromEnvironment(
    _ environment: [String: String] = ProcessInfo.processInfo.environment,
    revision: String? = nil
  ) -> HubClient {
    let progress: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    return HubClient(
      endpoint: environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co",
      token: HuggingFaceCache(environment: environment).token,
      revision: revision ?? "main",
      responseTimeoutSeconds: seconds("HF_HUB_ETAG_TIMEOUT", in: environment, progress: progress),
      timeoutSeconds: seconds("HF_HUB_DOWNLOAD_TIMEOUT", in: environment, progress: progress),
      progress: progress
    )
  }

  /// A timeout variable's seconds: a positive number (huggingface_hub reads it
  /// with `float()`), else the default, with a line saying so.
  package static func seconds(_ name: String, in environment: [String: String], progress: (String) -> Void) -> Double {
    guard let text = environment[name], !text.isEmpty else { return defaultTimeoutSeconds }
    if let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0, value <= 86_400 {
      return value
    }
    progress("shardplan: \(name)=\(text) is not a number of seconds in 0…86400; using \(Int(defaultTimeoutSeconds))")
    return defaultTimeoutSeconds
  }

  func url(_ repository: String, _ file: String) -> URL? {
    URL(string: "\(endpoint)/\(repository)/resolve/\(revision)/\(file)")
  }

  /// The model’s config.json and safetensors headers (by range requests), read
  /// into a ModelSpec, for async callers: the requests run on a thread of their
  /// own (not one of the concurrency pool's), which the caller awaits without
  /// blocking.
  public func model(_ id: String) async throws -> ModelSpec {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async { continuation.resume(with: Result { try fetchModel(id) }) }
    }
  }

  /// The model’s config.json and safetensors headers (by range requests), read
  /// into a ModelSpec, waiting for each request on the calling thread
  /// (``ModelLoader``'s synchronous interface). Async callers use ``model(_:)``.
  public func fetchModel(_ id: String) throws -> ModelSpec {
    let deadline = Date().addingTimeInterval(deadlineSeconds)
    let get = { (url: URL, what: String, range: ClosedRange<Int>?) in
      try self.get(url, what: what, range: range, deadline: deadline)
    }
    guard let configURL = url(id, "config.json") else {
      throw InputError(.unknownName, source: id, message: "not a usable Hub id")
    }
    let config = try get(configURL, "config.json of \(id)", nil)
    guard config.status == 200 else { throw statusError(config.status, url: configURL, id: id) }
    var spec = try HFConfigReader.read(config.body, name: id, source: configURL.absoluteString)
    // Shards: the index's weight map, else a single model.safetensors.
    var shards: [String] = []
    var declared: Int64?
    if let indexURL = url(id, "model.safetensors.index.json") {
      let index = try get(indexURL, "safetensors index of \(id)", nil)
      if index.status == 200 {
        let json = try JSONValue.parse(index.body, source: indexURL.absoluteString)
        guard let map = json["weight_map"]?.objectValue else {
          throw InputError(
            .malformed,
            source: indexURL.absoluteString,
            field: "weight_map",
            message: "index has no weight_map"
          )
        }
        shards = Set(map.values.compactMap(\.stringValue)).sorted()
        declared = json["metadata"]?["total_size"]?.intValue
      } else if index.status == 404 {
        shards = ["model.safetensors"]
      } else {
        throw statusError(index.status, url: indexURL, id: id)
      }
    }
    var entries: [SafetensorsReader.Entry] = []
    for (position, shard) in shards.enumerated() {
      if shards.count > 1 { progress?("shardplan: reading header \(position + 1)/\(shards.count): \(shard)") }
      guard SafetensorsReader.shardNameProblem(shard) == nil, let shardURL = url(id, shard) else {
        throw InputError(
          .malformed,
          source: id,
          field: "weight_map",
          message: SafetensorsReader.shardNameProblem(shard) ?? "shard name '\(shard)' is not a file name",
          expected: "plain file names such as model-00001-of-00004.safetensors"
        )
      }
      guard let header = try shardHeader(shardURL, id: id, deadline: deadline) else {
        spec.notes.append("no safetensors file on the Hub; tensors come from config.json")
        return spec
      }
      entries.append(contentsOf: header)
    }
    try SafetensorsReader.checkHoldsWeights(entries, source: id)
    spec = spec.replacingTensors(with: entries, source: .safetensors(origin: "\(endpoint)"))
    if let declared, declared != spec.weightBytes {
      spec.notes.append("the index declares \(declared) bytes; the shards' headers hold \(spec.weightBytes)")
    }
    return spec
  }

  /// The header of one shard, or nil when the file does not exist.
  func shardHeader(_ url: URL, id: String, deadline: Date) throws -> [SafetensorsReader.Entry]? {
    let first = try get(url, what: "header length of \(url.lastPathComponent)", range: 0...7, deadline: deadline)
    if first.status == 404 { return nil }
    guard first.status == 206 || first.status == 200, first.body.count >= 8 else {
      throw statusError(first.status, url: url, id: id)
    }
    let lengthBytes = [UInt8](first.body.prefix(8))
    let length = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard length >= 2, length <= SafetensorsReader.maximumHeaderBytes else {
      throw InputError(
        .malformed,
        source: url.absoluteString,
        field: "header length",
        message: "header length \(length) is outside 2…\(SafetensorsReader.maximumHeaderBytes) bytes"
      )
    }
    // Content-Range: bytes 0-7/TOTAL gives the file size, hence the data section.
    let fileSize = first.totalSize
    let second = try get(
      url,
      what: "header of \(url.lastPathComponent)",
      range: 8...(8 + Int(length) - 1),
      deadline: deadline
    )
    guard second.status == 206 || second.status == 200 else { throw statusError(second.status, url: url, id: id) }
    let header = second.status == 200 ? second.body.dropFirst(8).prefix(Int(length)) : second.body.prefix(Int(length))
    guard header.count == Int(length) else {
      throw InputError(
        .malformed,
        source: url.absoluteString,
        message: "server sent \(header.count) header bytes of \(length)"
      )
    }
    // A size the server states is untrusted: it must hold the header it precedes.
    if let fileSize, fileSize < 8 + Int64(length) {
      throw InputError(
        .malformed,
        source: url.absoluteString,
        field: "Content-Range",
        message: "the server gives the file as \(fileSize) bytes, less than its own \(8 + Int64(length))-byte header",
        expected: "Content-Range: bytes 0-7/SIZE with SIZE at least the header's end",
        fix: "Try again later; the endpoint (HF_ENDPOINT) may not be a Hub"
      )
    }
    let dataBytes = fileSize.map { $0 - 8 - Int64(length) } ?? Int64.max
    return try SafetensorsReader.parseHeader(Data(header), dataBytes: dataBytes, source: url.absoluteString)
  }

  func statusError(_ status: Int, url: URL, id: String) -> InputError {
    let fix =
      switch status {
      case 401, 403: "The model may be gated: accept its license on the Hub and set HF_TOKEN"
      case 404: "Check the Hub id (\(id)) and the revision"
      default: "Try again later, or download config.json and give its folder"
      }
    return InputError(.unreadable, source: url.absoluteString, message: "the Hub answered HTTP \(status)", fix: fix)
  }

  struct Response {
    var status: Int
    var body: Data
    var totalSize: Int64?
  }

  /// One GET, retried once after a network error or a 5xx status, ending by
  /// `deadline` at the latest.
  func get(_ url: URL, what: String, range: ClosedRange<Int>? = nil, deadline: Date) throws -> Response {
    var lastError: Error?
    for attempt in 0..<2 {
      if deadline.timeIntervalSinceNow <= 0 {
        throw InputError(
          .unreadable,
          source: url.absoluteString,
          message: "reading the model took longer than its \(Int(deadlineSeconds)) s deadline; \(what) was not read",
          fix: "The server is too slow or stalls: try again later, or download the files and give their folder"
        )
      }
      do {
        let response =
          try transport.map { try $0(url, range) } ?? send(url, what: what, range: range, deadline: deadline)
        if response.status >= 500 && attempt == 0 {
          progress?("shardplan: \(what): HTTP \(response.status), retrying once")
          continue
        }
        return response
      } catch let error as InputError {
        // The server's answer itself is refused (compressed, too slow): no retry.
        throw error
      } catch {
        lastError = error
        if attempt == 0 { progress?("shardplan: \(what): \(Self.describe(error)), retrying once") }
      }
    }
    throw InputError(
      .unreadable,
      source: url.absoluteString,
      message: "could not fetch \(what) (\(lastError.map(Self.describe) ?? "server error"))",
      fix: "Check the network, or set HF_HUB_OFFLINE=1 and use a local copy"
    )
  }

  /// Seconds as a short number: `10`, `0.5`.
  static func format(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
  }

  /// An error in words: a timeout says which limit it hit.
  static func describe(_ error: any Error) -> String {
    if let stop = error as? Stop { return stop.reason }
    return error.localizedDescription
  }

  /// Why the client itself ended a request.
  struct Stop: Error {
    var reason: String
  }

  /// One GET over libcurl (loaded at run time), on the calling thread. libcurl
  /// waits in poll(2) and calls back on each chunk and about once a second while
  /// nothing comes; the callbacks apply the limits libcurl does not know: time to
  /// the answer, time without a byte, the model's deadline, the body's size cap.
  private func send(_ url: URL, what: String, range: ClosedRange<Int>?, deadline: Date) throws -> Response {
    var headers = ["User-Agent: shardplan", "Accept-Encoding: identity"]
    if let token { headers.append("Authorization: Bearer \(token)") }
    if let range { headers.append("Range: bytes=\(range.lowerBound)-\(range.upperBound)") }
    // A server that ignores Range would send a whole weight file: stop reading
    // once the bytes needed (range end + 1) or 16 MiB (the cap of config.json
    // and of an index) for whole files have come.
    let transfer = Transfer(
      limit: range.map { $0.upperBound + 1 } ?? (16 << 20),
      stopReason: { transfer in
        let waited = -transfer.start.timeIntervalSinceNow
        if deadline.timeIntervalSinceNow <= 0 { return "the model's \(Int(deadlineSeconds)) s deadline passed" }
        if !transfer.answered && waited > responseTimeoutSeconds {
          return "no answer within \(Self.format(responseTimeoutSeconds)) s (HF_HUB_ETAG_TIMEOUT)"
        }
        if -transfer.lastActivity.timeIntervalSinceNow > timeoutSeconds {
          return "no data for \(Self.format(timeoutSeconds)) s (HF_HUB_DOWNLOAD_TIMEOUT)"
        }
        if Int(waited) / 5 > transfer.saidWaiting {
          transfer.saidWaiting = Int(waited) / 5
          progress?("shardplan: still waiting for \(what) after \(transfer.saidWaiting * 5) s")
        }
        return nil
      }
    )
    var status = 0
    var error = [CChar](repeating: 0, count: 512)
    let code = withExtendedLifetime(transfer) {
      transfer.perform(url: url.absoluteString, headers: headers, connectTimeoutSeconds: responseTimeoutSeconds + 1) {
        request in shardplan_http_get(request, &status, &error, error.count)
      }
    }
    let failure = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if let encoding = transfer.refusedEncoding {
      throw InputError(
        .malformed,
        source: url.absoluteString,
        field: "Content-Encoding",
        message: "the server sent \(what) compressed (\(encoding)) though asked for it uncompressed",
        expected: "an uncompressed body (Accept-Encoding: identity)",
        fix: "The endpoint (HF_ENDPOINT) may not be a Hub; download the files and give their folder"
      )
    }
    switch code {
    case 0: break
    case Int32(SHARDPLAN_HTTP_UNAVAILABLE):
      throw InputError(
        .unreadable,
        source: url.absoluteString,
        message: "cannot make HTTP requests: \(failure)",
        fix: "Install libcurl (Debian: apt-get install libcurl4), or download the model's files and give their folder"
      )
    case Int32(SHARDPLAN_HTTP_STOPPED) where transfer.stoppedEarly: break
    case Int32(SHARDPLAN_HTTP_STOPPED): throw Stop(reason: transfer.stop ?? "the transfer was stopped")
    default: throw Stop(reason: failure.isEmpty ? "libcurl error \(code)" : failure)
    }
    var total: Int64?
    if let contentRange = transfer.headers["content-range"], let slash = contentRange.lastIndex(of: "/") {
      total = Int64(contentRange[contentRange.index(after: slash)...]).flatMap { $0 >= 0 ? $0 : nil }
    } else if status == 200, let length = transfer.headers["content-length"] {
      total = Int64(length).flatMap { $0 >= 0 ? $0 : nil }
    }
    let data = transfer.body
    if status == 200, let range {
      // Whole file sent: cut out the range asked for.
      let body = data.count > range.lowerBound ? data[range.lowerBound..<min(data.count, range.upperBound + 1)] : Data()
      return Response(status: 206, body: Data(body), totalSize: total)
    }
    return Response(status: status, body: data, totalSize: total)
  }
}

/// The state of one transfer, which libcurl's callbacks (on the thread running
/// the transfer, one at a time) update: the body so far, the final response's
/// headers, the time of the last byte, and why the transfer was stopped.
private final class Transfer {
  let limit: Int
  let start = Date()
  let stopReason: (Transfer) -> String?
  var body = Data()
  /// The latest response's headers, names in lower case (a redirect's are replaced by the next answer's).
  var headers: [String: String] = [:]
  var headerBytes = 0
  /// Whether a status line has come.
  var answered = false
  var lastActivity = Date()
  var saidWaiting = 0
  /// The body reached `limit`: what was read stands.
  var stoppedEarly = false
  /// The compression a body came in, refused before a byte of it was kept.
  var refusedEncoding: String?
  var stop: String?

  /// Most header bytes one request may bring, every redirect's together (the
  /// Hub sends about 2 KB; libcurl's own cap, 300 KB in recent releases, is later).
  static let headerLimit = 256 << 10

  init(limit: Int, stopReason: @escaping (Transfer) -> String?) {
    self.limit = limit
    self.stopReason = stopReason
  }

  /// Runs `get` with a request whose callbacks reach this transfer.
  func perform(
    url: String,
    headers: [String],
    connectTimeoutSeconds: Double,
    _ get: (UnsafePointer<shardplan_http_request>) -> Int32
  ) -> Int32 {
    let context = Unmanaged.passUnretained(self).toOpaque()
    let lines = headers.map { strdup($0) }
    defer { lines.forEach { free($0) } }
    let constLines = lines.map { UnsafePointer($0) }
    return url.withCString { url in
      constLines.withUnsafeBufferPointer { lines in
        var request = shardplan_http_request(
          url: url,
          headers: lines.baseAddress,
          header_count: Int32(lines.count),
          connect_timeout_ms: Int(connectTimeoutSeconds * 1000),
          on_body: { bytes, count, context in
            guard let context else { return 0 }
            return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().received(bytes, count)
          },
          on_header: { bytes, count, context in
            guard let context else { return 0 }
            return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().header(bytes, count)
          },
          on_progress: { context in
            guard let context else { return 1 }
            return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().tick()
          },
          context: context
        )
        return get(&request)
      }
    }
  }

  /// Body bytes: kept up to the limit; a compressed body is refused at its first byte.
  func received(_ bytes: UnsafePointer<CChar>?, _ count: Int) -> Int {
    lastActivity = Date()
    if let encoding = headers["content-encoding"], encoding.lowercased() != "identity" {
      refusedEncoding = encoding.lowercased()
      return 0
    }
    guard let bytes, count > 0 else { return count }
    let kept = min(count, limit - body.count)
    body.append(UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self), count: kept)
    if body.count >= limit {
      stoppedEarly = true
      return 0
    }
    return count
  }

  /// One header line (a status line starts the headers of the next answer).
  func header(_ bytes: UnsafePointer<CChar>?, _ count: Int) -> Int {
    lastActivity = Date()
    headerBytes += count
    guard let bytes, headerBytes <= Self.headerLimit else {
      stop = "the server sent more than \(Self.headerLimit >> 10) KiB of headers"
      return 0
    }
    let line = String(decoding: UnsafeRawBufferPointer(start: bytes, count: count), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
      answered = true
      headers = [:]
    } else if let colon = line.firstIndex(of: ":") {
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
        in: .whitespacesAndNewlines
      )
    }
    return count
  }

  /// Between chunks: 1 stops the transfer, with the reason kept.
  func tick() -> Int32 {
    guard stop == nil, let reason = stopReason(self) else { return stop == nil ? 0 : 1 }
    stop = reason
    return 1
  }
}

/// What the libFuzzer driver in `Fuzz/` feeds the Hub client: a whole
/// repository's answers from one input, parsed as the network's would be.
/// System programming interface for the fuzzers, not part of the library.
@_spi(Fuzzing) public enum HubFuzzEntryPoints {
  /// Splits `bytes` at each `\n--\n` into the answers for config.json, the index
  /// (404 when empty or absent), a shard's first 8 bytes, its header, and the
  /// `Content-Range` total (decimal text), then reads the model from them: the
  /// model, or nil when the client refused the answers.
  @discardableResult
  @_spi(Fuzzing) public static func responses(_ bytes: Data) -> ModelSpec? {
    var parts: [Data] = []
    var rest = bytes[...]
    let marker = Data("\n--\n".utf8)
    while parts.count < 4, let found = rest.firstRange(of: marker) {
      parts.append(Data(rest[..<found.lowerBound]))
      rest = rest[found.upperBound...]
    }
    parts.append(Data(rest))
    while parts.count < 5 { parts.append(Data()) }
    let total = Int64(String(decoding: parts[4], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    let answers = parts
    var client = HubClient(endpoint: "http://fuzz.invalid")
    client.transport = { url, range in
      switch (url.lastPathComponent, range?.lowerBound) {
      case ("config.json", _): return HubClient.Response(status: 200, body: answers[0], totalSize: nil)
      case ("model.safetensors.index.json", _):
        return HubClient.Response(status: answers[1].isEmpty ? 404 : 200, body: answers[1], totalSize: nil)
      case (_, 0): return HubClient.Response(status: 206, body: answers[2], totalSize: total)
      case (_, _?): return HubClient.Response(status: 206, body: answers[3], totalSize: total)
      default: return HubClient.Response(status: 404, body: Data(), totalSize: nil)
      }
    }
    return try? client.fetchModel("org/fuzz")
  }
}
