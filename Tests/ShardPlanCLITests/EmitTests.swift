import Foundation
import ShardPlan
import Synchronization
import Testing
import _ShardPlanTestSupport

/// The emitters end to end: every scenario of Tests/Conformance/emit-scenarios.txt
/// is run with the built binary; its files must equal the golden files in
/// Tests/Conformance/golden/NAME/ (`RECORD_SNAPSHOTS=1 swift test` re-records them),
/// scripts must be executable and pass `bash -n`, the plan's layout must pass
/// `validate`, and the files of one plan must agree with each other and the plan.
@Suite("launch files")
struct EmitTests {
  struct Scenario: CustomStringConvertible, Sendable {
    var name: String
    var arguments: [String]
    var description: String { name }
  }

  static let scenarios: [Scenario] = {
    let text = (try? Repository.text("Tests/Conformance/emit-scenarios.txt")) ?? ""
    return text.split(separator: "\n").compactMap { line in
      guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { return nil }
      let arguments = line[line.index(after: colon)...].split(separator: " ").map(String.init)
      return Scenario(name: String(line[..<colon]), arguments: arguments)
    }
  }()

  /// One scenario's run of the binary: the folder it wrote and the plan as JSON
  /// text (`plan --format json`, or `validate --format json` of an `emit` layout).
  struct Run: Sendable {
    var folder: URL
    var status: Int32
    var stderr: String
    var planJSON: String
  }

  /// Runs a scenario into a fresh folder.
  static func run(_ scenario: Scenario) throws -> Run {
    let folder = try SyntheticFiles.folder("emit-\(scenario.name)")
    try? FileManager.default.removeItem(at: folder)
    var arguments = scenario.arguments + ["--emit", "all", "--output", folder.path]
    let isPlan = scenario.arguments.first == "plan"
    if isPlan { arguments += ["--format", "json"] }
    let result = try CLITests.run(arguments)
    var json = result.stdout
    if !isPlan {
      json = try CLITests.run(["validate", scenario.arguments[1], "--format", "json"]).stdout
    }
    return Run(folder: folder, status: result.status, stderr: result.stderr, planJSON: json)
  }

  /// Every scenario run once per test run, two at a time, for all the tests that
  /// read its files (they only read them).
  static let runs: [String: Result<Run, any Error>] = {
    let results = Mutex<[String: Result<Run, any Error>]>([:])
    let list = scenarios
    DispatchQueue.concurrentPerform(iterations: list.count) { index in
      let outcome = Result { try run(list[index]) }
      results.withLock { $0[list[index].name] = outcome }
    }
    return results.withLock { $0 }
  }()

  /// A scenario's folder and plan, from its one run.
  static func emit(_ scenario: Scenario) throws -> (URL, [String: Any]) {
    let run = try #require(runs[scenario.name], "\(scenario.name) did not run").get()
    #expect(run.status == 0, "\(scenario.name): \(run.stderr)")
    var plan = try JSONSerialization.jsonObject(with: Data(run.planJSON.utf8)) as? [String: Any] ?? [:]
    if let inner = plan["plan"] as? [String: Any] { plan = inner }
    return (run.folder, plan)
  }

  /// The plan without the cost model's predictions (speeds, step times, and the
  /// alternatives ranked by them): those are asserted from first principles in
  /// the planner's unit tests, so that a change to the cost model re-records no
  /// golden. What is left — layouts, budgets in bytes, verdicts — is exact.
  static func withoutPredictions(_ value: Any) -> Any {
    let dropped: Set<String> = ["prediction", "stepSeconds", "tokensPerSecond", "alternatives"]
    if let object = value as? [String: Any] {
      return object.filter { !dropped.contains($0.key) }.mapValues(withoutPredictions)
    }
    if let array = value as? [Any] { return array.map(withoutPredictions) }
    return value
  }

  @Test func everyFormatHasAScenario() {
    #expect(Self.scenarios.count >= 15)
    let golden = Repository.root.appendingPathComponent("Tests/Conformance/golden")
    let files = (try? FileManager.default.subpathsOfDirectory(atPath: golden.path)) ?? []
    for name in [
      "vllm.sh", "sglang.sh", "llama.sh", "accelerate_config.yaml", "device_map.json", "max_memory.json",
      "ds_config.json", "hostfile", "torchrun.sh",
    ] {
      #expect(files.contains { $0.hasSuffix("/" + name) }, "no scenario writes \(name)")
    }
  }

  @Test(arguments: scenarios)
  func filesMatchTheGoldens(_ scenario: Scenario) throws {
    let (folder, plan) = try Self.emit(scenario)
    let manager = FileManager.default
    let written = try manager.contentsOfDirectory(atPath: folder.path).sorted()
    #expect(!written.isEmpty)
    #expect(!written.contains { $0.hasPrefix(".") }, "a temporary file was left: \(written)")
    let golden = Repository.root.appendingPathComponent("Tests/Conformance/golden/\(scenario.name)")
    let missing = !manager.fileExists(atPath: golden.path)
    let record = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil || missing
    // A missing golden folder is recorded and fails, so that no golden passes unseen.
    if missing { Issue.record("\(scenario.name): no golden files; recorded them: read them, then run again") }
    let planText = String(
      decoding: try JSONSerialization.data(
        withJSONObject: Self.withoutPredictions(plan),
        options: [.prettyPrinted, .sortedKeys]
      ),
      as: UTF8.self
    )
    if record {
      try? manager.removeItem(at: golden)
      try manager.createDirectory(at: golden, withIntermediateDirectories: true)
      for name in written {
        try manager.copyItem(at: folder.appendingPathComponent(name), to: golden.appendingPathComponent(name))
      }
      try (planText + "\n").write(to: golden.appendingPathComponent("plan.json"), atomically: true, encoding: .utf8)
      return
    }
    let expected = try manager.contentsOfDirectory(atPath: golden.path).filter { $0 != "plan.json" }.sorted()
    #expect(written == expected, "\(scenario.name): files differ; RECORD_SNAPSHOTS=1 swift test re-records")
    for name in written where expected.contains(name) {
      let mine = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
      let theirs = try String(contentsOf: golden.appendingPathComponent(name), encoding: .utf8)
      #expect(mine == theirs, "\(scenario.name)/\(name) differs; RECORD_SNAPSHOTS=1 swift test re-records")
    }
    let storedPlan = try String(contentsOf: golden.appendingPathComponent("plan.json"), encoding: .utf8)
    #expect(
      storedPlan == planText + "\n",
      "\(scenario.name)/plan.json differs; RECORD_SNAPSHOTS=1 swift test re-records"
    )
  }

  @Test(arguments: scenarios)
  func scriptsAreExecutableAndParse(_ scenario: Scenario) throws {
    let (folder, _) = try Self.emit(scenario)
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
      let path = folder.appendingPathComponent(name).path
      let text = try String(contentsOfFile: path, encoding: .utf8)
      #expect(text.hasPrefix("#") || text.hasPrefix("{"), "\(name) does not start with a comment")
      if name.hasSuffix(".json") {
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil, "\(name) is not JSON")
      }
      guard name.hasSuffix(".sh") else { continue }
      #expect(FileManager.default.isExecutableFile(atPath: path), "\(name) is not executable")
      #expect(text.hasPrefix("#!/usr/bin/env bash\n# Written by shardplan"))
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/bin/bash")
      process.arguments = ["-n", path]
      try process.run()
      process.waitUntilExit()
      #expect(process.terminationStatus == 0, "bash -n \(name) fails")
    }
  }

  @Test(arguments: scenarios.filter { $0.arguments.first == "plan" })
  func theLayoutOfEveryPlanValidates(_ scenario: Scenario) throws {
    // The layout file `plan --format yaml` prints: the plan's own layoutYAML(),
    // here of the plan the scenario's one run printed as JSON.
    let run = try #require(Self.runs[scenario.name]).get()
    let plan = try JSONDecoder().decode(Plan.self, from: Data(run.planJSON.utf8))
    let url = try SyntheticFiles.folder("emit-layout-\(scenario.name)").appendingPathComponent("\(scenario.name).yaml")
    try plan.layoutYAML().write(to: url, atomically: true, encoding: .utf8)
    // `emit` validates the layout first, as `validate` does, and writes nothing
    // (exit 1) when it has a problem; from the plan's own layout it writes the
    // same launch files as the plan did, apart from the line naming what
    // produced them.
    let (planFolder, _) = try Self.emit(scenario)
    let layoutFolder = try SyntheticFiles.folder("emit-from-layout-\(scenario.name)")
    try? FileManager.default.removeItem(at: layoutFolder)
    let emitted = try CLITests.run(["emit", url.path, "--emit", "all", "--output", layoutFolder.path])
    #expect(emitted.status == 0, "\(scenario.name): the layout does not validate: \(emitted.stdout) \(emitted.stderr)")
    for name in try FileManager.default.contentsOfDirectory(atPath: planFolder.path) {
      func body(_ folder: URL) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
          .replacingOccurrences(of: "(shardplan emit \(scenario.name).yaml)", with: "(shardplan plan)")
      }
      #expect(
        try body(planFolder) == (try? body(layoutFolder)),
        "\(scenario.name)/\(name) differs when emitted from the layout"
      )
    }
  }
}

extension EmitTests {
  /// The value after `flag` in a script's argument lines (`  --flag value`).
  static func flag(_ flag: String, in text: String) -> String? {
    for line in text.split(separator: "\n") {
      let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      if let at = words.firstIndex(of: flag), at + 1 < words.count, at == 0 || words[0] == "args+=(" {
        return words[at + 1].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
      }
    }
    return nil
  }

  /// Every file agrees with the plan it came from, and so with the other files:
  /// the same GPUs, the same degrees, the same context and batch sizes.
  @Test(arguments: scenarios)
  func filesAgreeWithThePlanAndEachOther(_ scenario: Scenario) throws {
    let (folder, plan) = try Self.emit(scenario)
    let workloads = try #require(plan["workloads"] as? [[String: Any]])
    var utilizationByGPU: [Int: Double] = [:]
    // Roles sharing a card split vLLM's fraction of it (0.9 unless the plan raised it).
    let fraction = workloads.compactMap { $0["memoryFraction"] as? Double }.max() ?? 0.9
    defer {
      for (gpu, total) in utilizationByGPU {
        #expect(total <= fraction + 1e-9, "GPU \(gpu): vLLM shares add up to \(total)")
      }
    }
    for workload in workloads {
      let suffix = workloads.count > 1 ? "." + (workload["role"] as? String ?? "") : ""
      func file(_ name: String) -> String? {
        try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
      }
      let int = { (key: String) in workload[key] as? Int ?? -1 }
      let replicas = workload["replicaDevices"] as? [[Int]] ?? []
      let gpus = replicas.flatMap { $0 }
      // Every script that pins GPUs makes CUDA number them as nvidia-smi does, before any pin.
      for name in ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
      where name.hasSuffix(".sh") {
        guard let text = file(name), let pin = text.range(of: "CUDA_VISIBLE_DEVICES=") else { continue }
        let order = text.range(of: "export CUDA_DEVICE_ORDER=PCI_BUS_ID\n")
        #expect(order.map { $0.lowerBound < pin.lowerBound } == true, "\(name) pins GPUs without CUDA_DEVICE_ORDER")
      }
      if let vllm = file("vllm\(suffix).sh") {
        #expect(Self.flag("--tensor-parallel-size", in: vllm) == "\(int("tensorParallel"))")
        #expect(Self.flag("--max-model-len", in: vllm) == "\(int("context"))")
        let expert = workload["strategy"] as? String == "expert"
        // Each engine instance (replica or data-parallel rank) schedules its share.
        let instances = max(expert ? int("dataParallel") : replicas.count, 1)
        let perInstance = max(1, (int("concurrency") + instances - 1) / instances)
        #expect(Self.flag("--max-num-seqs", in: vllm) == "\(perInstance)")
        #expect(Self.flag("--pipeline-parallel-size", in: vllm) == "\(expert ? 1 : int("pipelineParallel"))")
        #expect(Self.flag("--data-parallel-size", in: vllm) == "\(expert ? int("dataParallel") : replicas.count)")
        #expect(vllm.contains("--enable-expert-parallel") == expert)
        if let partition = workload["vllmLayerPartition"] as? String {
          #expect(vllm.contains("export VLLM_PP_LAYER_PARTITION=\(partition)\n"))
        }
        let utilization = Double(Self.flag("--gpu-memory-utilization", in: vllm) ?? "") ?? 0
        let planned = workload["memoryFraction"] as? Double ?? 0.9
        #expect(utilization > 0 && utilization <= planned, "vLLM's share of a card is at most the planned fraction")
        for gpu in gpus { utilizationByGPU[gpu, default: 0] += utilization }
      }
      if let sglang = file("sglang\(suffix).sh") {
        #expect(Self.flag("--context-length", in: sglang) == "\(int("context"))")
        // SGLang divides a DP-attention server's count over its ranks itself.
        let expert = workload["strategy"] as? String == "expert"
        let instances = expert ? 1 : max(replicas.count, 1)
        let perInstance = max(1, (int("concurrency") + instances - 1) / instances)
        #expect(Self.flag("--max-running-requests", in: sglang) == "\(perInstance)")
      }
      if let llama = file("llama\(suffix).sh") {
        #expect(Self.flag("-c", in: llama) == "\(int("context") * int("concurrency"))")
        #expect(Self.flag("--parallel", in: llama) == "\(int("concurrency"))")
        #expect(Self.flag("-ctk", in: llama) == workload["kvCacheType"] as? String)
        if let split = Self.flag("--tensor-split", in: llama), workload["cpuExpertLayers"] == nil {
          let stages = workload["stages"] as? [[String: Any]] ?? []
          let layers = stages.map { ($0["lastLayer"] as? Int ?? 0) - ($0["firstLayer"] as? Int ?? 0) + 1 }
          #expect(
            split
              == zip(layers.indices, layers).map { "\($1 + ($0 == layers.count - 1 ? 1 : 0))" }.joined(separator: ",")
          )
        }
      }
      if let training = workload["training"] as? [String: Any] {
        let dp = int("dataParallel")
        let micro = training["microBatch"] as? Int ?? 0
        let accumulation = training["gradientAccumulation"] as? Int ?? 0
        #expect(training["globalBatch"] as? Int == micro * accumulation * dp)
        let accelerate = try #require(file("accelerate_config\(suffix).yaml"))
        #expect(accelerate.contains("\nnum_processes: \(dp)\n"))
        #expect(accelerate.contains("\nnum_machines: \(training["nodes"] as? Int ?? 0)\n"))
        #expect(accelerate.contains("\nmixed_precision: \(training["mixedPrecision"] as? String ?? "")\n"))
        let torchrun = try #require(file("torchrun\(suffix).sh"))
        #expect(torchrun.contains("--nproc-per-node=\(training["processesPerNode"] as? Int ?? 0)"))
        if let ds = file("ds_config\(suffix).json") {
          let config = try #require(try JSONSerialization.jsonObject(with: Data(ds.utf8)) as? [String: Any])
          #expect(config["train_batch_size"] as? Int == micro * accumulation * dp)
          #expect(config["train_micro_batch_size_per_gpu"] as? Int == micro)
          #expect(config["gradient_accumulation_steps"] as? Int == accumulation)
          let zero = config["zero_optimization"] as? [String: Any]
          #expect(zero?["stage"] as? Int == training["zeroStage"] as? Int)
          #expect(accelerate.contains("  zero_stage: \(training["zeroStage"] as? Int ?? -1)\n"))
          #expect(accelerate.contains("  gradient_accumulation_steps: \(accumulation)\n"))
        }
        if let hostfile = file("hostfile\(suffix)") {
          let slots = hostfile.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap {
            Int($0.split(separator: "=").last ?? "")
          }
          #expect(slots.reduce(0, +) == dp)
          #expect(slots.count == training["nodes"] as? Int)
        }
      } else if let map = file("device_map\(suffix).json") {
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(map.utf8)) as? [String: Any])
        let gpuNumbers = Set(devices.values.compactMap { $0 as? Int })
        let stages = workload["stages"] as? [[String: Any]] ?? []
        #expect(gpuNumbers == Set(0..<stages.count), "device_map uses GPUs \(gpuNumbers.sorted())")
        let cpu = devices.values.filter { $0 as? String == "cpu" }.count
        #expect(cpu == (workload["cpuLayers"] as? Int ?? 0))
        let accelerate = try #require(
          file("accelerate_config\(suffix).yaml") ?? file("accelerate_config\(suffix).replica0.yaml")
        )
        #expect(
          accelerate.contains(
            "gpu_ids: '\(replicas.count > 1 && replicas.allSatisfy { $0.count == 1 } ? gpus.map(String.init).joined(separator: ",") : replicas[0].map(String.init).joined(separator: ","))'"
          )
        )
      }
    }
  }
}

extension EmitTests {
  /// Every way `--emit` can go wrong exits with the documented status and leaves
  /// no file behind.
  @Test func refusalsWriteNothing() throws {
    let root = try SyntheticFiles.folder("emit-refusals")
    let cases: [([String], Int32, String)] = [
      (
        [
          "plan", "Qwen/Qwen2.5-72B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "131072", "--emit", "all",
        ],
        1, "the plan does not fit"
      ),
      (["plan", "Qwen/Qwen3-8B", "--topology", "8x-h100-sxm", "--emit", "llama.cpp"], 2, "runs on llama.cpp"),
      (["plan", "Qwen/Qwen3-8B", "--topology", "8x-h100-sxm", "--emit", "vlm"], 2, "unknown format 'vlm'"),
      (["emit", "Examples/layouts/broken.yaml", "--emit", "all"], 1, "not writing launch files"),
      (
        [
          "plan", "meta-llama/Llama-3.1-8B", "--train", "full", "--topology", "8x-h100-sxm", "--global-batch", "12",
          "--emit", "all",
        ],
        2, "not a multiple of micro-batch 1 × 8 GPU(s)"
      ),
    ]
    for (index, (arguments, status, message)) in cases.enumerated() {
      let folder = root.appendingPathComponent("case\(index)")
      let result = try CLITests.run(arguments + ["--output", folder.path])
      #expect(result.status == status, "\(arguments): \(result.stdout) \(result.stderr)")
      #expect((result.stdout + result.stderr).contains(message), "\(arguments): \(result.stdout) \(result.stderr)")
      #expect(
        !FileManager.default.fileExists(atPath: folder.path)
          || (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.isEmpty == true
      )
    }
    // --emit without --output, and an --output that is a file.
    let alone = try CLITests.run(["plan", "Qwen/Qwen3-8B", "--topology", "8x-h100-sxm", "--emit", "all"])
    #expect(alone.status == 2 && alone.stderr.contains("--emit needs --output DIR"))
    let file = root.appendingPathComponent("a-file")
    try "x".write(to: file, atomically: true, encoding: .utf8)
    let onFile = try CLITests.run([
      "plan", "Qwen/Qwen3-8B", "--topology", "8x-h100-sxm", "--emit", "all", "--output", file.path,
    ])
    #expect(onFile.status == 2 && onFile.stderr.contains("is a file, not a folder"))
  }
}
