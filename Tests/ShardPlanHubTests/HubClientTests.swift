import Foundation
import ShardPlan
@_spi(Fuzzing) import ShardPlanHub
import Synchronization
import Testing
import _ShardPlanTestSupport

/// The Hub client against a real HTTP server on 127.0.0.1 serving a small model
/// repository: config.json, an index, and two safetensors shards.
@Suite("Hugging Face Hub client", .serialized)
struct HubClientTests {
  static let config = """
    {"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
     "num_key_value_heads":2,"vocab_size":128,"max_position_embeddings":512,"torch_dtype":"bfloat16",
     "tie_word_embeddings":false}
    """

  /// Files of a repository `org/tiny` whose shards hold exactly the tensors config.json implies.
  static func repository() throws -> (files: [String: Data], totalBytes: Int) {
    let spec = try HFConfigReader.read(Data(config.utf8), name: "org/tiny", source: "config.json")
    let folder = try SyntheticFiles.folder("hub")
    let tensors = spec.tensors.map { (name: $0.name, dtype: "BF16", shape: $0.shape.map { Int($0) }) }
    let half = tensors.count / 2
    let first = folder.appendingPathComponent("model-00001-of-00002.safetensors")
    let second = folder.appendingPathComponent("model-00002-of-00002.safetensors")
    let bytes1 = try SyntheticFiles.writeSafetensors(first, tensors: Array(tensors[..<half]))
    let bytes2 = try SyntheticFiles.writeSafetensors(second, tensors: Array(tensors[half...]))
    var map: [String: String] = [:]
    for tensor in tensors[..<half] { map[tensor.name] = "model-00001-of-00002.safetensors" }
    for tensor in tensors[half...] { map[tensor.name] = "model-00002-of-00002.safetensors" }
    let index = try JSONSerialization.data(withJSONObject: [
      "metadata": ["total_size": bytes1 + bytes2], "weight_map": map,
    ])
    let base = "/org/tiny/resolve/main/"
    return (
      [
        base + "config.json": Data(config.utf8), base + "model.safetensors.index.json": index,
        base + "model-00001-of-00002.safetensors": try Data(contentsOf: first),
        base + "model-00002-of-00002.safetensors": try Data(contentsOf: second),
      ], bytes1 + bytes2
    )
  }

  @Test func readsHeadersByRangeRequestsOnly() throws {
    let (files, total) = try Self.repository()
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    let spec = try HubClient(endpoint: server.baseURL).fetchModel("org/tiny")
    #expect(spec.weightBytes == Int64(total))
    #expect(spec.tensorSource.description.hasPrefix("safetensors headers"))
    let shardRequests = server.seen.filter { $0.path.hasSuffix(".safetensors") }
    #expect(shardRequests.count == 4)  // length + header, for each of 2 shards
    #expect(shardRequests.allSatisfy { $0.range != nil })
    #expect(shardRequests.contains { $0.range == "bytes=0-7" })
  }

  /// The async interface reads the same model, awaiting each request without
  /// blocking a thread, and several reads run at once.
  @Test func asyncCallersAwaitTheSameModel() async throws {
    let (files, total) = try Self.repository()
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    let client = HubClient(endpoint: server.baseURL)
    async let first = client.model("org/tiny")
    async let second = client.model("org/tiny")
    let (a, b) = try await (first, second)
    #expect(a.weightBytes == Int64(total))
    #expect(a == b)
    #expect(try client.fetchModel("org/tiny") == a)
  }

  @Test func sendsTheTokenAndExplainsA401() throws {
    let (files, _) = try Self.repository()
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    server.requiredToken = "hf_test"
    #expect(throws: InputError.self) { _ = try HubClient(endpoint: server.baseURL).fetchModel("org/tiny") }
    do {
      _ = try HubClient(endpoint: server.baseURL).fetchModel("org/tiny")
    } catch let error as InputError {
      #expect(error.description.contains("HTTP 401") && error.description.contains("HF_TOKEN"))
    }
    let spec = try HubClient(endpoint: server.baseURL, token: "hf_test").fetchModel("org/tiny")
    #expect(spec.layers == 2)
    #expect(server.seen.last?.authorization == "Bearer hf_test")
  }

  /// The token huggingface_hub saves (`HF_HOME/token`, written by `hf auth login`)
  /// is sent when HF_TOKEN is unset, and `--revision` goes into the resolve URLs.
  @Test func tokenFileAndRevisionFromTheEnvironment() throws {
    let (files, _) = try Self.repository()
    var atRevision: [String: Data] = [:]
    for (path, data) in files {
      atRevision[path.replacingOccurrences(of: "/resolve/main/", with: "/resolve/v2.0/")] = data
    }
    let server = try LoopbackHTTPServer(files: atRevision)
    defer { server.stop() }
    server.requiredToken = "hf_from_file"
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("hf-home-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: home) }
    try "hf_from_file\n".write(to: home.appendingPathComponent("token"), atomically: true, encoding: .utf8)
    let environment = ["HF_ENDPOINT": server.baseURL, "HF_HOME": home.path]
    var client = HubClient.fromEnvironment(environment, revision: "v2.0")
    client.progress = nil
    #expect(client.token == "hf_from_file")
    #expect(try client.fetchModel("org/tiny").layers == 2)
    #expect(server.seen.allSatisfy { $0.path.contains("/resolve/v2.0/") })
    #expect(server.seen.last?.authorization == "Bearer hf_from_file")
    // HF_TOKEN wins over the file, as in huggingface_hub.
    #expect(HubClient.fromEnvironment(environment.merging(["HF_TOKEN": "hf_env"]) { $1 }).token == "hf_env")
  }

  @Test func retriesAFailedRequestOnce() throws {
    let (files, _) = try Self.repository()
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    server.failNextRequest(to: "/org/tiny/resolve/main/config.json")
    let lines = LineCollector()
    let spec = try HubClient(endpoint: server.baseURL, progress: { lines.append($0) }).fetchModel("org/tiny")
    #expect(spec.layers == 2)
    #expect(lines.all.contains { $0.contains("HTTP 503, retrying once") })
    #expect(lines.all.contains { $0.contains("reading header 2/2") })
  }

  @Test func aServerThatIgnoresRangeStillGivesTheHeader() throws {
    let (files, total) = try Self.repository()
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    server.ignoreRange = true
    let spec = try HubClient(endpoint: server.baseURL).fetchModel("org/tiny")
    #expect(spec.weightBytes == Int64(total))
  }

  /// A hostile server: a Content-Range total of Int64.min (it trapped in the
  /// size arithmetic), or smaller than the header, and an index naming a shard
  /// outside the repository; each is an InputError naming the source.
  @Test func hostileServersAreRefused() throws {
    let (files, _) = try Self.repository()
    for total in ["-9223372036854775808", "9", "abc"] {
      let server = try LoopbackHTTPServer(files: files)
      defer { server.stop() }
      server.contentRangeTotal = total
      do {
        let spec = try HubClient(endpoint: server.baseURL).fetchModel("org/tiny")
        // An unreadable total is ignored (the data size is then unchecked).
        #expect(total == "abc" || total == "-9223372036854775808", "total \(total) accepted: \(spec.weightBytes)")
      } catch let error as InputError {
        #expect(total == "9" && error.description.contains("less than its own"), "\(total): \(error)")
      }
    }
    var hostile = files
    let base = "/org/tiny/resolve/main/"
    for shard in ["/etc/passwd", "a?b#c.safetensors", "../x.safetensors"] {
      hostile[base + "model.safetensors.index.json"] = try JSONSerialization.data(withJSONObject: [
        "metadata": ["total_size": 1], "weight_map": ["model.embed_tokens.weight": shard],
      ])
      let server = try LoopbackHTTPServer(files: hostile)
      defer { server.stop() }
      #expect(throws: InputError.self, "\(shard)") {
        _ = try HubClient(endpoint: server.baseURL).fetchModel("org/tiny")
      }
      #expect(!server.seen.contains { $0.path.contains("passwd") || $0.path.contains("?") }, "\(shard) requested")
    }
  }

  /// The bomb of the hostile-input tests inflates as the file says: the start
  /// of the stream is a valid deflate stream of zeros (checked by Foundation's
  /// decoder where it has one; here by its first bytes and its stated size).
  @Test func theGzipBombIsWhatItClaims() {
    let bomb = SyntheticFiles.gzipBomb(inflatingTo: 1 << 28)
    #expect(bomb.prefix(3) == Data([0x1f, 0x8b, 8]))
    #expect(bomb.count < (1 << 28) / 150 && bomb.count > (1 << 28) / 170, "\(bomb.count) bytes")
    let size = bomb.suffix(4).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    #expect(size >= 1 << 28)
  }

  /// A model read has a deadline, however the time is spent: a config.json
  /// trickled one byte per 0.1 s (each byte inside the idle timeout) is cut off
  /// at the 1 s deadline, with a message naming it; a silent server at the
  /// answer timeout; a compressed body is refused before it is inflated.
  @Test func slowSilentAndCompressedServersAreCutOff() throws {
    let (files, _) = try Self.repository()
    let configPath = "/org/tiny/resolve/main/config.json"
    let cases: [(LoopbackHTTPServer.Behaviour, deadline: Double, String)] = [
      (.drip(interval: 0.1), 1, "1 s deadline"),
      (.silent(seconds: 30), 30, "no answer within 0.5 s (HF_HUB_ETAG_TIMEOUT)"),
      (.drip(interval: 3), 30, "no data for 0.5 s (HF_HUB_DOWNLOAD_TIMEOUT)"),
      (.encoded(SyntheticFiles.gzipBomb(inflatingTo: 1 << 28), encoding: "gzip"), 30, "compressed (gzip)"),
    ]
    for (behaviour, deadline, expected) in cases {
      let server = try LoopbackHTTPServer(files: files)
      defer { server.stop() }
      server.set(behaviour, for: configPath)
      let lines = Mutex<[String]>([])
      let client = HubClient(
        endpoint: server.baseURL,
        responseTimeoutSeconds: 0.5,
        timeoutSeconds: 0.5,
        deadlineSeconds: deadline,
        progress: { line in lines.withLock { $0.append(line) } }
      )
      let start = Date()
      do {
        _ = try client.fetchModel("org/tiny")
        Issue.record("\(expected): the model was read")
      } catch let error as InputError {
        #expect(error.description.contains(expected), "\(error)")
        #expect(error.source.hasSuffix("config.json"), "\(error.source)")
      }
      // Two attempts of at most a few seconds each, whatever the server does.
      #expect(Date().timeIntervalSince(start) < 8, "\(expected): \(Date().timeIntervalSince(start)) s")
      #expect(server.acceptEncodings.allSatisfy { $0 == "identity" }, "\(server.acceptEncodings)")
    }
  }

  /// Waiting costs no CPU: the thread that waits on a silent server for the
  /// 2 s answer timeout (twice, with the retry) sleeps in poll(2) — libcurl
  /// wakes it about once a second — so its CPU time is a small part of the wait.
  /// (URLSession, which this client used before, spun: 11 s of CPU in a 12 s wait.)
  @Test func waitingForASilentServerCostsNoCPU() throws {
    let (files, _) = try Self.repository()
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    server.set(.silent(seconds: 30), for: "/org/tiny/resolve/main/config.json")
    let client = HubClient(endpoint: server.baseURL, responseTimeoutSeconds: 2, timeoutSeconds: 2)
    let cpuBefore = Self.threadCPUSeconds()
    let start = Date()
    #expect(throws: InputError.self) { _ = try client.fetchModel("org/tiny") }
    let wall = Date().timeIntervalSince(start)
    let cpu = Self.threadCPUSeconds() - cpuBefore
    #expect(wall >= 4 && wall < 10, "\(wall) s")
    #expect(cpu < 0.1 * wall, "\(cpu) s of CPU in \(wall) s of waiting")
  }

  /// User plus system CPU time of the calling thread.
  static func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }

  /// Redirects are followed, as the Hub's to its file servers are; the token
  /// goes along to the same server, never to another one (the other port here);
  /// a redirect to a scheme other than http(s) is refused, and a loop ends.
  @Test func redirectsKeepTheTokenOnItsOwnServer() throws {
    let (files, total) = try Self.repository()
    let base = "/org/tiny/resolve/main/"
    let other = try LoopbackHTTPServer(files: files)
    defer { other.stop() }
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    server.set(.redirect(to: base + "moved/config.json"), for: base + "config.json")
    server.set(.redirect(to: "/files/config.json"), for: base + "moved/config.json")
    var moved = files
    moved["/files/config.json"] = files[base + "config.json"]
    let shard = base + "model-00001-of-00002.safetensors"
    server.set(.redirect(to: other.baseURL + shard), for: shard)
    let filesServer = try LoopbackHTTPServer(files: moved)
    defer { filesServer.stop() }
    server.set(.redirect(to: filesServer.baseURL + "/files/config.json"), for: base + "moved/config.json")
    let spec = try HubClient(endpoint: server.baseURL, token: "hf_secret").fetchModel("org/tiny")
    #expect(spec.weightBytes == Int64(total))
    let own = server.seen.filter { $0.path.hasPrefix(base) }
    #expect(own.count >= 5 && own.allSatisfy { $0.authorization == "Bearer hf_secret" }, "\(own)")
    #expect(other.seen.map(\.path) == [shard, shard], "\(other.seen)")
    #expect(other.seen.allSatisfy { $0.authorization == nil }, "\(other.seen)")
    #expect(filesServer.seen.count == 1 && filesServer.seen.allSatisfy { $0.authorization == nil })

    let refusing = try LoopbackHTTPServer(files: files)
    defer { refusing.stop() }
    refusing.set(.redirect(to: "file:///etc/passwd"), for: base + "config.json")
    // A redirect loop ends after 10 redirects.
    refusing.set(.redirect(to: base + "config.json"), for: base + "model.safetensors.index.json")
    for (file, expected) in [("config.json", "could not fetch config.json"), ("", "redirects")] {
      if file.isEmpty { refusing.set(.redirect(to: base + "model.safetensors.index.json"), for: base + "config.json") }
      #expect {
        _ = try HubClient(endpoint: refusing.baseURL).fetchModel("org/tiny")
      } throws: { error in
        (error as? InputError)?.description.contains(expected) == true
      }
    }
  }

  /// Headers without end are cut off at 256 KiB, in bounded memory and time.
  @Test func aFloodOfHeadersIsCutOff() throws {
    let (files, _) = try Self.repository()
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    server.set(.headerFlood(bytes: 64 << 20), for: "/org/tiny/resolve/main/config.json")
    let start = Date()
    #expect {
      _ = try HubClient(endpoint: server.baseURL).fetchModel("org/tiny")
    } throws: { error in
      (error as? InputError)?.description.contains("more than 256 KiB of headers") == true
    }
    #expect(Date().timeIntervalSince(start) < 5)
  }

  /// huggingface_hub's timeout variables, read as it reads them (seconds, float),
  /// a value that is not a number falling back to its default of 10 with a line.
  @Test func timeoutsFromTheEnvironment() {
    let client = HubClient.fromEnvironment(["HF_HUB_ETAG_TIMEOUT": "2.5", "HF_HUB_DOWNLOAD_TIMEOUT": "60"])
    #expect(client.responseTimeoutSeconds == 2.5)
    #expect(client.timeoutSeconds == 60)
    let lines = Mutex<[String]>([])
    let seconds = HubClient.seconds("HF_HUB_DOWNLOAD_TIMEOUT", in: ["HF_HUB_DOWNLOAD_TIMEOUT": "soon"]) { line in
      lines.withLock { $0.append(line) }
    }
    #expect(seconds == 10)
    #expect(lines.withLock { $0 }.first?.contains("HF_HUB_DOWNLOAD_TIMEOUT=soon is not a number") == true)
    #expect(HubClient.fromEnvironment([:]).timeoutSeconds == 10)
  }

  /// The Hub fuzzer's fake transport reads its seeds as the network's answers
  /// (the sharded and single-file seeds give the 2-layer model, to the byte of
  /// its header), and every fuzz regression finishes through it.
  @Test func fuzzTransportReadsItsSeeds() throws {
    let seeds = Repository.path("Fuzz/Corpus/hub")
    for (name, layers) in [("sharded", 2), ("single", 2)] {
      let spec = HubFuzzEntryPoints.responses(try Data(contentsOf: URL(fileURLWithPath: "\(seeds)/\(name)")))
      #expect(spec?.layers == layers, "\(name)")
      // 128×64 embedding and head, per layer 4 attention and 3 MLP matrices and 2 norms, a final norm; bf16.
      let elements = 2 * 128 * 64 + 2 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 128 * 64 + 2 * 64) + 64
      #expect(spec?.weightBytes == Int64(elements * 2), "\(name)")
    }
    let folder = Repository.path("Fuzz/Regressions")
    for file in try FileManager.default.contentsOfDirectory(atPath: folder) {
      let start = Date()
      HubFuzzEntryPoints.responses(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(file)")))
      #expect(Date().timeIntervalSince(start) < 5, "\(file)")
    }
  }

  @Test func missingModelIsA404WithAFix() throws {
    let server = try LoopbackHTTPServer(files: [:])
    defer { server.stop() }
    do {
      _ = try HubClient(endpoint: server.baseURL).fetchModel("org/absent")
      Issue.record("expected an error")
    } catch let error as InputError {
      #expect(error.description.contains("HTTP 404"))
    }
  }

  @Test func offlineModeNeverAsksTheHub() throws {
    let (files, _) = try Self.repository()
    let server = try LoopbackHTTPServer(files: files)
    defer { server.stop() }
    let loader = ModelLoader(
      environment: ["HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": "/nonexistent"],
      hub: HubClient(endpoint: server.baseURL)
    )
    #expect(throws: InputError.self) { _ = try loader.load("org/tiny") }
    #expect(server.seen.isEmpty)
    let online = ModelLoader(environment: ["HF_HUB_CACHE": "/nonexistent"], hub: HubClient(endpoint: server.baseURL))
    #expect(try online.load("org/tiny").layers == 2)
  }
}

/// Collects progress lines from the client's callback.
final class LineCollector: @unchecked Sendable {
  // The lock guards `lines`; the callback may run on URLSession's queue.
  private let lock = NSLock()
  private var lines: [String] = []
  func append(_ line: String) {
    lock.lock()
    lines.append(line)
    lock.unlock()
  }
  var all: [String] {
    lock.lock()
    defer { lock.unlock() }
    return lines
  }
}
