import Foundation
import ShardPlan
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Reads a model from the Hugging Face Hub over HTTP(S) without downloading
/// weights: `config.json`, `model.safetensors.index.json`, and each shard's
/// header by two range requests (the 8-byte length, then the JSON header).
///
/// Honours `HF_ENDPOINT` (another Hub or a mirror), `HF_TOKEN` (sent as a bearer
/// token, for gated models) and `HF_HUB_OFFLINE` (no requests at all, checked by
/// ``ModelLoader``). Each request is retried once after a network error or a 5xx
/// answer. Progress over many shards goes to standard error.
public struct HubClient: HubFetching {
  /// The Hub's address, without a trailing slash.
  public var endpoint: String
  /// Bearer token, when set.
  public var token: String?
  /// Revision to read (a branch, tag or commit).
  public var revision: String
  /// Seconds each request may take.
  public var timeoutSeconds: Double
  /// Where progress lines go; nil for silence.
  public var progress: (@Sendable (String) -> Void)?

  /// A client of `endpoint` (the Hub by default), with an optional token and revision.
  public init(
    endpoint: String = "https://huggingface.co",
    token: String? = nil,
    revision: String = "main",
    timeoutSeconds: Double = 30,
    progress: (@Sendable (String) -> Void)? = nil
  ) {
    var endpoint = endpoint
    while endpoint.hasSuffix("/") { endpoint.removeLast() }
    self.endpoint = endpoint
    self.token = token
    self.revision = revision
    self.timeoutSeconds = timeoutSeconds
    self.progress = progress
  }

  /// A client configured from `HF_ENDPOINT` and the token huggingface_hub would
  /// use (`HF_TOKEN`, else the `HF_TOKEN_PATH` or `HF_HOME/token` file), at
  /// `revision` (nil: main), reporting progress on stderr.
  public static func fromEnvironment(
    _ environment: [String: String] = ProcessInfo.processInfo.environment,
    revision: String? = nil
  ) -> HubClient {
    HubClient(
      endpoint: environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co",
      token: HuggingFaceCache(environment: environment).token,
      revision: revision ?? "main",
      progress: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    )
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
    guard let configURL = url(id, "config.json") else {
      throw InputError(.unknownName, source: id, message: "not a usable Hub id")
    }
    let config = try get(configURL, what: "config.json of \(id)")
    guard config.status == 200 else { throw statusError(config.status, url: configURL, id: id) }
    var spec = try HFConfigReader.read(config.body, name: id, source: configURL.absoluteString)
    // Shards: the index's weight map, else a single model.safetensors.
    var shards: [String] = []
    var declared: Int64?
    if let indexURL = url(id, "model.safetensors.index.json") {
      let index = try get(indexURL, what: "safetensors index of \(id)")
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
      guard let header = try shardHeader(shardURL, id: id) else {
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
  func shardHeader(_ url: URL, id: String) throws -> [SafetensorsReader.Entry]? {
    let first = try get(url, what: "header length of \(url.lastPathComponent)", range: 0...7)
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
    let second = try get(url, what: "header of \(url.lastPathComponent)", range: 8...(8 + Int(length) - 1))
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

  /// One GET, retried once after a network error or a 5xx status.
  func get(_ url: URL, what: String, range: ClosedRange<Int>? = nil) throws -> Response {
    var lastError: Error?
    for attempt in 0..<2 {
      do {
        let response = try send(url, range: range)
        if response.status >= 500 && attempt == 0 {
          progress?("shardplan: \(what): HTTP \(response.status), retrying once")
          continue
        }
        return response
      } catch {
        lastError = error
        if attempt == 0 { progress?("shardplan: \(what): \(error.localizedDescription), retrying once") }
      }
    }
    throw InputError(
      .unreadable,
      source: url.absoluteString,
      message: "could not fetch \(what) (\(lastError.map { $0.localizedDescription } ?? "server error"))",
      fix: "Check the network, or set HF_HUB_OFFLINE=1 and use a local copy"
    )
  }

  private func send(_ url: URL, range: ClosedRange<Int>?) throws -> Response {
    var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeoutSeconds)
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let range { request.setValue("bytes=\(range.lowerBound)-\(range.upperBound)", forHTTPHeaderField: "Range") }
    request.setValue("shardplan", forHTTPHeaderField: "User-Agent")
    // A server that ignores Range would send a whole weight file: stop reading
    // once the bytes needed (range end + 1) or 64 MiB for whole files have come.
    let limit = range.map { $0.upperBound + 1 } ?? (64 << 20)
    let outcome = Mutex<Result<(Data, HTTPURLResponse), any Error>?>(nil)
    let finished = DispatchSemaphore(value: 0)
    do {
      let collector = Collector(limit: limit) { result in
        outcome.withLock { $0 = result }
        finished.signal()
      }
      let configuration = URLSessionConfiguration.ephemeral
      configuration.timeoutIntervalForRequest = timeoutSeconds
      let session = URLSession(configuration: configuration, delegate: collector, delegateQueue: nil)
      let task = session.dataTask(with: request)
      // A stalled or drip-feeding server is cut off after the timeout and 5 s.
      DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds + 5) {
        if collector.finish(.failure(URLError(.timedOut))) { task.cancel() }
      }
      task.resume()
      session.finishTasksAndInvalidate()
    }
    // Waits on the calling thread: URLSession completes on its own queue and the
    // timer on another, so the wait needs no thread of the concurrency pool.
    finished.wait()
    guard let result = outcome.withLock({ $0 }) else { throw URLError(.unknown) }
    let (data, response) = try result.get()
    var total: Int64?
    if let contentRange = response.value(forHTTPHeaderField: "Content-Range"),
      let slash = contentRange.lastIndex(of: "/")
    {
      total = Int64(contentRange[contentRange.index(after: slash)...]).flatMap { $0 >= 0 ? $0 : nil }
    } else if response.statusCode == 200, let length = response.value(forHTTPHeaderField: "Content-Length") {
      total = Int64(length).flatMap { $0 >= 0 ? $0 : nil }
    }
    if response.statusCode == 200, let range {
      // Whole file sent: cut out the range asked for.
      let body = data.count > range.lowerBound ? data[range.lowerBound..<min(data.count, range.upperBound + 1)] : Data()
      return Response(status: 206, body: Data(body), totalSize: total)
    }
    return Response(status: response.statusCode, body: data, totalSize: total)
  }
}

/// Collects a response body up to a limit and reports the outcome once: the
/// body (cut at the limit) and the response, or the error. URLSession calls
/// it on its own queue and the timeout on another; a mutex guards the state.
private final class Collector: NSObject, URLSessionDataDelegate, Sendable {
  private struct State {
    var data = Data()
    var response: HTTPURLResponse?
    var stoppedEarly = false
    var completion: (@Sendable (Result<(Data, HTTPURLResponse), any Error>) -> Void)?
  }
  private let limit: Int
  private let state: Mutex<State>

  init(limit: Int, completion: @escaping @Sendable (Result<(Data, HTTPURLResponse), any Error>) -> Void) {
    self.limit = limit
    state = Mutex(State(completion: completion))
  }

  /// Reports `outcome` unless an outcome was reported already; true when this one was.
  @discardableResult
  func finish(_ outcome: Result<(Data, HTTPURLResponse), any Error>) -> Bool {
    let completion = state.withLock {
      state -> (@Sendable (Result<(Data, HTTPURLResponse), any Error>) -> Void)? in
      defer { state.completion = nil }
      return state.completion
    }
    completion?(outcome)
    return completion != nil
  }

  func urlSession(
    _ session: URLSession,
    dataTask: URLSessionDataTask,
    didReceive response: URLResponse,
    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
  ) {
    state.withLock { $0.response = response as? HTTPURLResponse }
    completionHandler(.allow)
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
    let over = state.withLock { state -> Bool in
      state.data.append(data)
      if state.data.count >= limit { state.stoppedEarly = true }
      return state.stoppedEarly
    }
    if over { dataTask.cancel() }
  }

  func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
    let (data, response, stoppedEarly) = state.withLock { state in
      if state.response == nil { state.response = task.response as? HTTPURLResponse }
      return (state.data.count > limit ? state.data.prefix(limit) : state.data, state.response, state.stoppedEarly)
    }
    // A body cut off at the limit ends with a cancellation error: what was read stands.
    if let error, !stoppedEarly {
      finish(.failure(error))
    } else if let response {
      finish(.success((Data(data), response)))
    } else {
      finish(.failure(error ?? URLError(.badServerResponse)))
    }
  }
}
