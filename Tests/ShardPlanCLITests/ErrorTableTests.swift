import Foundation
import Testing
import _ShardPlanTestSupport

/// The stated cases: engine logs in `Tests/ShardPlanTests/Fixtures/engine-logs/`
/// whose run is known well enough to plan again (a `# reconcile:` line with the
/// model, precision and GPUs of the run, as `reconcile`'s own flags). Each is
/// reconciled with the built binary, the terms whose engine rule shardplan models
/// exactly are held within ±3% and decode tokens/s within ±30% (unless the case
/// says it is not modelled, and why), and the README's
/// error table must be what these runs give (`Scripts/error-table.sh` rewrites it).
@Suite("Engine logs: the error table")
struct ErrorTableTests {
  struct Case {
    var name: String
    var path: String
    var source: String
    var arguments: [String]
    /// Terms the fixture says shardplan does not model for this run (a
    /// `# not modelled: TERM — why` line), though it does for the engine.
    var notModelled: Set<String> = []
  }

  struct Row: Decodable {
    var term: String
    var device: String
    var logDevice: String?
    var predicted: Double?
    var measured: Double
    var relativeError: Double?
  }

  struct Log: Decodable {
    var engine: String
    var rows: [Row]
  }

  struct Output: Decodable {
    var logs: [Log]
  }

  static let folder = "Tests/ShardPlanTests/Fixtures/engine-logs"

  /// Every fixture with a `# reconcile:` line, by name.
  static let cases: [Case] = {
    let root = Repository.path(folder)
    let files = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    return files.filter { $0.hasSuffix(".log") }.sorted().compactMap { file in
      guard let text = try? String(contentsOfFile: root + "/" + file, encoding: .utf8) else { return nil }
      let header = text.split(separator: "\n").prefix { $0.hasPrefix("#") }
      guard let line = header.first(where: { $0.hasPrefix("# reconcile: ") }) else { return nil }
      let source = header.first { $0.hasPrefix("# source: ") }.map { String($0.dropFirst("# source: ".count)) }
      let notModelled = header.filter { $0.hasPrefix("# not modelled: ") }.compactMap {
        $0.dropFirst("# not modelled: ".count).split(separator: " ").first.map(String.init)
      }
      return Case(
        name: String(file.dropLast(".log".count)),
        path: folder + "/" + file,
        source: source ?? "",
        arguments: line.dropFirst("# reconcile: ".count).split(separator: " ").map(String.init),
        notModelled: Set(notModelled)
      )
    }
  }()

  /// Terms whose rule shardplan models exactly, per engine: the weights on each
  /// GPU and in host memory, llama.cpp's KV buffer (vLLM and SGLang size their
  /// pool from what is left) and compute buffer (ggml's allocator: the largest
  /// live set of one ubatch), its GPU layers and context, vLLM's budget (its
  /// fraction of what CUDA reports) and its profile's peak (the forward, or the
  /// sampler's sort) — less what a case says is not modelled for its run.
  static func isExact(_ term: String, engine: String, case item: Case) -> Bool {
    guard !item.notModelled.contains(term) else { return false }
    switch term {
    case "weights", "hostWeights", "gpuLayers", "context": return true
    case "kvCache": return engine == "llama.cpp"
    case "activations": return engine == "llama.cpp" || engine == "vllm"
    case "budget": return engine == "vllm"
    default: return false
    }
  }

  static func reconcile(_ item: Case) throws -> Log {
    let result = try CLITests.run(["reconcile", item.path] + item.arguments + ["--format", "json"])
    guard result.status == 0 else {
      throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(item.name): \(result.stderr)"])
    }
    let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
    return try #require(output.logs.first)
  }

  @Test func thereAreStatedCases() {
    #expect(Self.cases.count >= 2)
  }

  @Test(arguments: cases.map(\.name))
  func exactTermsWithinThreePercent(_ name: String) throws {
    let item = try #require(Self.cases.first { $0.name == name })
    let log = try Self.reconcile(item)
    let compared = log.rows.filter { $0.relativeError != nil && !$0.device.contains("estimate") }
    #expect(
      compared.contains { Self.isExact($0.term, engine: log.engine, case: item) },
      "\(name): no exact term compared"
    )
    for row in compared where Self.isExact(row.term, engine: log.engine, case: item) {
      #expect(
        abs(row.relativeError ?? 0) <= 0.03,
        "\(name): \(row.term) on \(row.device) off by \(row.relativeError ?? 0)"
      )
    }
    for row in compared where row.term == "decodeTokensPerSecond" && !item.notModelled.contains(row.term) {
      #expect(abs(row.relativeError ?? 0) <= 0.30, "\(name): decode tokens/s off by \(row.relativeError ?? 0)")
    }
  }

  /// The README's table between its markers, as the stated cases give it now.
  @Test func readmeTableIsCurrent() throws {
    var lines = [
      "| case | engine | term | device | predicted | measured | error |",
      "|---|---|---|---|---|---|---|",
    ]
    for item in Self.cases {
      let log = try Self.reconcile(item)
      for row in log.rows where row.predicted != nil && !row.device.contains("estimate") {
        func show(_ value: Double) -> String {
          switch row.term {
          case "weights", "hostWeights", "kvCache", "activations", "overheads", "budget", "cudaGraphs", "memoryUsed":
            String(format: "%.2f MiB", value / 1_048_576)
          case "decodeTokensPerSecond", "prefillTokensPerSecond": String(format: "%.1f tokens/s", value)
          case "maxConcurrency": String(format: "%.2f×", value)
          default: String(Int(value.rounded()))
          }
        }
        let error = row.relativeError.map { String(format: "%+.1f%%", $0 * 100) } ?? ""
        let exact = Self.isExact(row.term, engine: log.engine, case: item) ? "" : " (not exact)"
        lines.append(
          "| \(item.name) | \(log.engine) | \(row.term)\(exact) | \(row.device) | \(show(row.predicted ?? 0)) | \(show(row.measured)) | \(error) |"
        )
      }
    }
    let table = lines.joined(separator: "\n") + "\n"
    let readmePath = Repository.path("README.md")
    let readme = try String(contentsOfFile: readmePath, encoding: .utf8)
    let start = "<!-- error-table:start (Scripts/error-table.sh writes this table) -->\n"
    let end = "<!-- error-table:end -->"
    let head = try #require(readme.range(of: start), "README has no error-table markers")
    let tail = try #require(readme.range(of: end, range: head.upperBound..<readme.endIndex))
    let current = String(readme[head.upperBound..<tail.lowerBound])
    if ProcessInfo.processInfo.environment["RECORD_ERROR_TABLE"] != nil {
      try (readme[..<head.upperBound] + table + readme[tail.lowerBound...]).write(
        toFile: readmePath,
        atomically: true,
        encoding: .utf8
      )
    } else {
      #expect(current == table, "the README's error table is stale: run Scripts/error-table.sh")
    }
  }

  /// `--write-calibration`: a llama.cpp run that decoded at 100 tokens/s against
  /// the plan's prediction P gives hbmEfficiency 0.8 × 100 / P (the built-in 0.8
  /// scaled by measured over predicted); a plan made with the file says so and
  /// predicts faster or slower in that proportion of its reads.
  @Test func writeCalibrationScalesByMeasuredOverPredicted() throws {
    let folder = try SyntheticFiles.folder("calibration")
    defer { try? FileManager.default.removeItem(at: folder) }
    let log = folder.appendingPathComponent("run.log")
    try """
    load_tensors: offloaded 33/33 layers to GPU
    load_tensors:        CUDA0 model buffer size =  4403.49 MiB
    llama_context: n_ctx         = 4096
    llama_perf_context_print:        eval time =    1270.00 ms /   127 runs   (   10.00 ms per token,   100.00 tokens per second)
    """.write(to: log, atomically: true, encoding: .utf8)
    let flags = [
      "--model", "meta-llama/Llama-3.1-8B", "--quant", "q4_k_m", "--topology", "4x-rtx-4090", "--objective",
      "fewest-gpus",
    ]
    let file = folder.appendingPathComponent("calibration.yaml").path
    let run = try CLITests.run(["reconcile", log.path] + flags + ["--format", "json", "--write-calibration", file])
    #expect(run.status == 0, "\(run.stderr)")
    let output = try JSONDecoder().decode(Output.self, from: Data(run.stdout.utf8))
    let decode = try #require(output.logs.first?.rows.first { $0.term == "decodeTokensPerSecond" })
    let predicted = try #require(decode.predicted)
    let text = try String(contentsOfFile: file, encoding: .utf8)
    let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("hbmEfficiency: ") })
    let written = try #require(Double(line.dropFirst("hbmEfficiency: ".count)))
    #expect(abs(written - min(1, 0.8 * 100 / predicted)) < 1e-4)
    let plan = try CLITests.run(
      ["plan", "meta-llama/Llama-3.1-8B", "--quant", "q4_k_m", "--engine", "llama.cpp", "--topology", "4x-rtx-4090"]
        + ["--objective", "fewest-gpus", "--context", "4096", "--calibration", file]
    )
    #expect(plan.status == 0 && plan.stdout.contains("calibrated from shardplan reconcile of run.log"))
    // Without a prediction there is nothing to calibrate against.
    let alone = try CLITests.run(["reconcile", log.path, "--write-calibration", file])
    #expect(alone.status == 2 && alone.stderr.contains("--plan or --model"))
  }
}
