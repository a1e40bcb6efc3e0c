import Foundation
import Testing
import _ShardPlanTestSupport

/// Runs the built `shardplan` binary and compares whole outputs with golden
/// files in Snapshots/. `RECORD_SNAPSHOTS=1 swift test` re-records them.
@Suite("shardplan command line")
struct CLITests {
  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static var binary: URL {
    // The test bundle and the executable are built into the same folder.
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [
      bundle.appendingPathComponent("shardplan"),
      bundle.deletingLastPathComponent().appendingPathComponent("shardplan"),
      Repository.root.appendingPathComponent(".build/debug/shardplan"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[2]
  }

  static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.currentDirectoryURL = Repository.root
    // Tests never leave the machine: no Hub requests.
    var environment = ProcessInfo.processInfo.environment
    environment["HF_HUB_OFFLINE"] = "1"
    environment["HF_HUB_CACHE"] = "/nonexistent-hf-cache"
    environment.merge(extra) { $1 }
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus,
      stdout: String(decoding: stdout, as: UTF8.self),
      stderr: String(decoding: stderr, as: UTF8.self)
    )
  }

  static func assertSnapshot(
    _ text: String,
    named name: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let url = Repository.root.appendingPathComponent("Tests/ShardPlanCLITests/Snapshots/\(name)")
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil {
      try text.write(to: url, atomically: true, encoding: .utf8)
      return
    }
    guard FileManager.default.fileExists(atPath: url.path) else {
      // Recorded now, but a missing snapshot is a failure, so that a snapshot
      // never passes unseen (as swift-argument-parser's helper does).
      try text.write(to: url, atomically: true, encoding: .utf8)
      Issue.record(
        "snapshot \(name) did not exist; recorded it: read it, then run again",
        sourceLocation: sourceLocation
      )
      return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(
      text == expected,
      "snapshot \(name) differs; RECORD_SNAPSHOTS=1 swift test re-records",
      sourceLocation: sourceLocation
    )
  }

  @Test(arguments: [
    (["topology", "2x-rtx-pro-6000-blackwell"], "topology-2x-rtx-pro-6000-blackwell.txt"),
    (["topology", "8x-h100-sxm", "--format", "json"], "topology-8x-h100-sxm.json"),
    (["topology", "2x8-h100-ib", "--format", "yaml"], "topology-2x8-h100-ib.yaml"),
    (
      [
        "topology", "Topologies/captured/nvsmi-topo_2xRTX3090-NVLinkBridge-NV4_drv610_with-nvlink-status-and-p2p.txt",
        "--format", "dot",
      ],
      "topology-2x3090-captured.dot"
    ),
    (
      [
        "topology", "Topologies/captured/nvsmi-topo_8xA100-HGX-NV12_EPYC7763-NPS4_drv495_old-NIC-column.txt", "--gpu",
        "a100-sxm-80gb",
      ],
      "topology-8xa100-nps4-captured.txt"
    ),
    (["topology", "Topologies/captured/hwloc-xml_jureca-dc-4xA100-no-nvml_v2.0.xml"], "topology-jureca-hwloc.txt"),
    (["gpus"], "gpus.txt"),
    (["models"], "models.txt"),
    (
      ["plan", "Qwen/Qwen2.5-72B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "32768"],
      "plan-qwen72b-2x-pro6000-32k.txt"
    ),
    (
      [
        "plan", "meta-llama/Llama-3.1-70B", "--quant", "q4_k_m", "--topology", "desktop-rtx-3060-12gb", "--context",
        "8192",
      ],
      "plan-llama70b-q4km-desktop-3060.txt"
    ),
    (["estimate", "Qwen/Qwen2.5-72B", "--context", "32768"], "estimate-qwen2.5-72b-32k.txt"),
    (
      ["estimate", "meta-llama/Llama-3.1-70B", "--quant", "q4_k_m", "--context", "8192"],
      "estimate-llama-3.1-70b-q4_k_m.txt"
    ),
    (
      ["estimate", "Qwen/Qwen3-30B-A3B", "--dtype", "fp8", "--gpus", "2", "--context", "32768", "--kv-dtype", "fp8"],
      "estimate-qwen3-30b-a3b-fp8-tp2.txt"
    ),
    (
      ["estimate", "meta-llama/Llama-3.1-8B", "--train", "qlora", "--context", "4096", "--gradient-checkpointing"],
      "estimate-llama-3.1-8b-qlora.txt"
    ),
  ])
  func snapshots(_ arguments: [String], _ snapshot: String) throws {
    let result = try Self.run(arguments)
    #expect(result.status == 0, "\(result.stderr)")
    try Self.assertSnapshot(result.stdout, named: snapshot)
  }

  /// libhwloc is loaded at run time: the binary does not need it to start
  /// (ldd lists no libhwloc), `topology local` without it still reads nvidia-smi
  /// with a note saying what is missing, and an hwloc XML is refused naming the
  /// package to install. (`SHARDPLAN_LIBHWLOC` names the library to load; a path
  /// that does not exist stands for a machine without it.)
  @Test func runsWithoutLibhwloc() throws {
    let ldd = Process()
    ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
    ldd.arguments = [Self.binary.path]
    let pipe = Pipe()
    ldd.standardOutput = pipe
    try ldd.run()
    let libraries = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    ldd.waitUntilExit()
    #expect(libraries.contains("libc.so"), "\(libraries)")
    #expect(!libraries.contains("hwloc") && !libraries.contains("libcurl"), "\(libraries)")

    let missing = ["SHARDPLAN_LIBHWLOC": "/nonexistent/libhwloc.so.15"]
    let local = try Self.run(["topology", "local"], environment: missing)
    #expect(local.status == 0, "\(local.stderr)")
    #expect(local.stdout.contains("cannot load libhwloc") && local.stdout.contains("apt-get install libhwloc15"))
    let xml = "Topologies/captured/hwloc-xml_aws-g4dn.metal-8xT4-pcie_v2.0.xml"
    let refused = try Self.run(["topology", xml], environment: missing)
    #expect(refused.status == 2)
    #expect(refused.stderr.contains(xml) && refused.stderr.contains("imported by libhwloc"), "\(refused.stderr)")
    let read = try Self.run(["topology", xml])
    #expect(read.status == 0 && read.stdout.contains("96 CPUs") && read.stdout.contains("Tesla T4"), "\(read.stdout)")
  }

  /// libcurl is loaded when the Hub is asked: without it a Hub id is refused
  /// with exit 2, naming the package to install, and nothing is written.
  @Test func theHubWithoutLibcurlSaysWhatToInstall() throws {
    let result = try Self.run(
      ["plan", "org/not-local", "--topology", "2x-rtx-pro-6000-blackwell"],
      environment: [
        "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9", "SHARDPLAN_LIBCURL": "/nonexistent/libcurl.so.4",
      ]
    )
    #expect(result.status == 2, "\(result.stderr)")
    #expect(
      result.stderr.contains("cannot load libcurl") && result.stderr.contains("apt-get install libcurl4"),
      "\(result.stderr)"
    )
    #expect(result.stdout.isEmpty)
  }

  @Test func jsonHasTheDocumentedFields() throws {
    let result = try Self.run(["topology", "4x8-h100-ib", "--format", "json"])
    #expect(result.status == 0)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    #expect(json["schemaVersion"] as? Int == 1)
    let gpus = try #require(json["gpus"] as? [[String: Any]])
    let links = try #require(json["links"] as? [[String: Any]])
    #expect(gpus.count == 32)
    #expect(links.count == 32 * 31 / 2)
    for gpu in gpus {
      #expect(gpu["index"] is Int && gpu["name"] is String && gpu["memoryBytes"] is Int && gpu["host"] is Int)
    }
    for link in links {
      #expect(link["from"] is Int && link["to"] is Int && link["bandwidthBytesPerSecond"] is Int)
      #expect(["nvlink", "nvswitch", "pix", "pxb", "phb", "node", "sys", "network"].contains(link["kind"] as? String))
    }
    let first = try #require(links.first)
    #expect(first["nvlinkCount"] as? Int == 18)
  }

  @Test func estimateJSONHasTheDocumentedFields() throws {
    let result = try Self.run([
      "estimate", "deepseek-ai/DeepSeek-V3", "--context", "16384", "--gpus", "8", "--format", "json",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    for key in [
      "parameters", "activeParameters", "weightBytes", "largestLayerBytes", "layers", "kvBytesPerToken", "kvCacheBytes",
      "activationBytes", "overheadBytes", "totalBytes",
    ] {
      #expect(json[key] is Int, "\(key)")
    }
    #expect(json["weightBytes"] as? Int == 688_574_839_360)
    #expect(json["kvBytesPerToken"] as? Int == 61 * 576 * 2)
    // MLA: every rank keeps the whole latent, so 8 ranks hold 8 copies.
    #expect(json["kvCacheBytes"] as? Int == 8 * 16_384 * 61 * 576 * 2)
    let training = try Self.run(["estimate", "meta-llama/Llama-3.2-1B", "--train", "full", "--format", "json"])
    let trainingJSON = try #require(
      try JSONSerialization.jsonObject(with: Data(training.stdout.utf8)) as? [String: Any]
    )
    #expect(trainingJSON["gradientBytes"] as? Int == 2 * 1_235_814_400)
    #expect(trainingJSON["optimizerBytes"] as? Int == 12 * 1_235_814_400)
  }

  @Test func estimateReadsAGGUFFile() throws {
    let folder = try SyntheticFiles.folder("cli-gguf")
    let url = folder.appendingPathComponent("tiny.gguf")
    var tensors: [(name: String, type: UInt32, dimensions: [UInt64], bytes: UInt64)] = [
      ("token_embd.weight", 8, [256, 512], 256 * 512 / 32 * 34),
      ("output.weight", 14, [256, 512], 256 * 512 / 256 * 210),
    ]
    for layer in 0..<2 {
      tensors.append(("blk.\(layer).attn_q.weight", 8, [256, 256], 256 * 256 / 32 * 34))
      tensors.append(("blk.\(layer).attn_norm.weight", 0, [256], 256 * 4))
    }
    try SyntheticFiles.writeGGUF(
      url,
      metadata: [
        ("general.architecture", .string("llama")), ("llama.block_count", .u32(2)),
        ("llama.embedding_length", .u32(256)),
        ("llama.attention.head_count", .u32(4)), ("llama.attention.head_count_kv", .u32(2)),
        ("llama.context_length", .u32(2048)),
      ],
      tensors: tensors
    )
    let result = try Self.run(["estimate", url.path, "--format", "json"])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let expected = tensors.reduce(0) { $0 + Int($1.bytes) }
    #expect(json["weightBytes"] as? Int == expected)
    #expect(json["engine"] as? String == "llama.cpp")
    // f16 KV: 2 layers × 2 KV heads × 64 dims × (K + V) × 2 bytes.
    #expect(json["kvBytesPerToken"] as? Int == 2 * 2 * 64 * 2 * 2)
  }

  @Test func planVerdictsAndExitCodes() throws {
    let fits = try Self.run([
      "plan", "Qwen/Qwen2.5-72B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "32768", "--format", "json",
    ])
    #expect(fits.status == 0, "\(fits.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(fits.stdout.utf8)) as? [String: Any])
    #expect(json["verdict"] as? String == "fits")
    let workload = try #require((json["workloads"] as? [[String: Any]])?.first)
    for key in [
      "role", "model", "strategy", "tensorParallel", "pipelineParallel", "expertParallel", "dataParallel", "stages",
      "prediction",
    ] {
      #expect(workload[key] != nil, "\(key)")
    }
    let prediction = try #require(workload["prediction"] as? [String: Any])
    #expect(prediction["prefillTokensPerSecond"] is Double && prediction["decodeTokensPerSecond"] is Double)
    let stage = try #require((workload["stages"] as? [[String: Any]])?.first)
    #expect(stage["devices"] is [Int] && stage["firstLayer"] as? Int == 0 && stage["lastLayer"] as? Int == 79)
    let devices = try #require(json["devices"] as? [[String: Any]])
    #expect(devices.count == 2 && devices.allSatisfy { $0["memoryBytes"] is Int && $0["usedBytes"] is Int })
    let tooLong = try Self.run([
      "plan", "Qwen/Qwen2.5-72B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "131072",
    ])
    #expect(tooLong.status == 1)
    #expect(tooLong.stdout.contains("does-not-fit") && tooLong.stdout.contains("--kv-dtype fp8"))
    let badTopology = try Self.run(["plan", "Qwen/Qwen3-8B", "--topology", "no-such-machine"])
    #expect(badTopology.status == 2)
  }

  @Test func outputIsDeterministic() throws {
    let file = "Topologies/captured/hwloc-xml_aws-g4dn.metal-8xT4-pcie_v2.0.xml"
    let one = try Self.run(["topology", file, "--format", "json"])
    let two = try Self.run(["topology", file, "--format", "json"])
    #expect(one.stdout == two.stdout)
  }

  @Test func mergesSeveralSourcesOfOneMachine() throws {
    let result = try Self.run([
      "topology", "Topologies/captured/nvsmi-topo_8xH200-NV18_noNIC.txt",
      "Topologies/captured/nvsmi-q_8xH100-SXM-80GB_drv565.txt", "--format", "json",
    ])
    #expect(result.status == 0)
    // The -q capture names H100s and gives bus ids; the topo -m capture gives NUMA nodes.
    #expect(result.stdout.contains("\"pciBusId\" : \"0000:18:00.0\""))
    #expect(result.stdout.contains("\"numaNode\" : 1"))
  }

  @Test func localRunsOnAMachineWithoutGPUs() throws {
    let result = try Self.run(["topology", "local"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("Host 0"))
  }

  @Test(arguments: [
    (["topology", "/nonexistent/topo.txt"], "/nonexistent/topo.txt: no such file"),
    (["topology", "Package.swift"], "Package.swift:1: not a topology input"),
    (["topology", "--gpu", "h900", "8x-h100-sxm"], "unknown GPU model 'h900'"),
    (["topology", "Topologies/captured/hwloc-xml_nvidia-dgx2-16xV100-nvswitch_v3.0.xml"], "hwloc XML version 3.0"),
    (["estimate", "nobody/nothing"], "HF_HUB_OFFLINE is set"),
    (["estimate", "Qwen/Qwen3-8B", "--quant", "q9_z"], "unknown --quant 'q9_z'"),
    (["estimate", "Package.swift"], "Package.swift"),
    (["estimate", "Topologies/captured/hwloc-xml_power8-4xP100-nvlink_v2.0.xml"], "not valid JSON"),
  ])
  func badInputExitsWithStatus2(_ arguments: [String], _ message: String) throws {
    let result = try Self.run(arguments)
    #expect(result.status == 2)
    #expect(result.stderr.contains(message), "\(result.stderr)")
    #expect(result.stdout.isEmpty)
  }
}

extension CLITests {
  @Test func readmeExampleTopologyFileReads() throws {
    let result = try Self.run(["topology", "Examples/my-workstation.yaml", "--format", "json"])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stdout.contains("\"memoryUsedBytes\" : 3221225472"))  // 3 GiB
    #expect(result.stdout.contains("\"bandwidthBytesPerSecond\" : 56250000000"))
  }
}

extension CLITests {
  @Test func validateListsEveryProblemWithItsLine() throws {
    let result = try Self.run(["validate", "Examples/layouts/broken.yaml"])
    #expect(result.status == 1)
    for expected in [
      "broken.yaml:7: unknown key 'contxt'", "Did you mean 'context'?", "broken.yaml:17: unknown kvCache 'fp9'",
      "tensorParallel 3 does not divide the 64 attention heads",
      // A stage's problem points at the stage's own line.
      "broken.yaml:13: reasoning: stage 1 starts at layer 41", "broken.yaml:11: reasoning: stage 0 has 1 GPU(s)",
      "broken.yaml:15: coder: GPU 2 does not exist",
    ] {
      #expect(result.stdout.contains(expected), "missing: \(expected)")
    }
  }

  @Test func rolesTakeTheirOwnContextAndConcurrency() throws {
    let result = try Self.run([
      "plan", "--topology", "2x-rtx-pro-6000-blackwell", "--format", "json",
      "--role", "reasoning=Qwen/Qwen3-32B@0;context=16384;concurrency=3", "--role", "coder=Qwen/Qwen2.5-7B-Instruct@1",
      "--context", "8192",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let workloads = try #require(json["workloads"] as? [[String: Any]])
    let reasoning = try #require(workloads.first { $0["role"] as? String == "reasoning" })
    let coder = try #require(workloads.first { $0["role"] as? String == "coder" })
    #expect(reasoning["context"] as? Int == 16_384 && reasoning["concurrency"] as? Int == 3)
    #expect(coder["context"] as? Int == 8192 && coder["concurrency"] as? Int == 1)
    let bad = try Self.run(["plan", "--topology", "2x-rtx-pro-6000-blackwell", "--role", "x=Qwen/Qwen3-8B;ctx=5"])
    #expect(bad.status == 2 && bad.stderr.contains("unknown setting 'ctx'"))
  }

  @Test func planYAMLIsAcceptedByValidate() throws {
    let folder = try SyntheticFiles.folder("layout")
    for (arguments, name) in [
      (["plan", "Qwen/Qwen2.5-72B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "32768"], "qwen72b.yaml"),
      (
        [
          "plan", "--topology", "2x-rtx-pro-6000-blackwell", "--role", "reasoning=Qwen/Qwen3-32B@0", "--role",
          "coder=Qwen/Qwen2.5-7B-Instruct@1", "--context", "16384",
        ], "roles.yaml"
      ),
      (
        [
          "plan", "meta-llama/Llama-3.1-70B", "--quant", "q4_k_m", "--topology", "desktop-rtx-3060-12gb", "--context",
          "8192",
        ], "offload.yaml"
      ),
      (["plan", "meta-llama/Llama-3.1-8B", "--topology", "2x8-h100-ib", "--objective", "latency"], "multinode.yaml"),
    ] {
      let planned = try Self.run(arguments + ["--format", "yaml"])
      #expect(planned.status == 0, "\(planned.stderr)")
      let url = folder.appendingPathComponent(name)
      try planned.stdout.write(to: url, atomically: true, encoding: .utf8)
      let validated = try Self.run(["validate", url.path])
      #expect(validated.status == 0, "\(name): \(validated.stdout)")
      #expect(validated.stdout.contains("the layout is consistent"))
    }
  }
}

extension CLITests {
  /// Every scenario script in Examples/scenarios reaches the verdict its
  /// `# expect:` line states, run as a user would run it (shardplan on the PATH).
  /// Runs a scenario script with the built binary first on PATH: its output and status.
  static func runScenario(_ script: String) throws -> (output: String, status: Int32) {
    let folder = Repository.root.appendingPathComponent("Examples/scenarios")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [folder.appendingPathComponent(script).path]
    var environment = ProcessInfo.processInfo.environment
    environment["PATH"] = Self.binary.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    environment["HF_HUB_OFFLINE"] = "1"
    process.environment = environment
    let out = Pipe()
    process.standardOutput = out
    process.standardError = Pipe()
    try process.run()
    let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (output, process.terminationStatus)
  }

  @Test func scenarioScriptsReachTheirExpectedVerdicts() throws {
    let folder = Repository.root.appendingPathComponent("Examples/scenarios")
    let scripts = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sh") }
      .sorted()
    #expect(scripts.count >= 9)
    for script in scripts {
      let text = try String(contentsOf: folder.appendingPathComponent(script), encoding: .utf8)
      let expected = try #require(
        text.components(separatedBy: "\n").first { $0.hasPrefix("# expect: ") }?.dropFirst("# expect: ".count)
      )
      let (output, status) = try Self.runScenario(script)
      let firstLine = output.components(separatedBy: "\n").first ?? ""
      #expect(firstLine.hasSuffix("verdict: \(expected)"), "\(script): \(firstLine)")
      #expect(status == (expected == "does-not-fit" ? 1 : 0), "\(script)")
    }
  }

  /// `plan --format json` then `reconcile LOG --plan plan.json`: the real Ollama run
  /// of Llama 3.1 8B Q4_K_M on an RTX 4090 against shardplan's plan of it, as a
  /// table and as JSON (the KV cache agrees to the byte; see EngineLogTests).
  @Test func reconcileAgainstAPlan() throws {
    let folder = try SyntheticFiles.folder("cli-reconcile")
    let plan = try Self.run([
      "plan", "meta-llama/Llama-3.1-8B", "--quant", "q4_k_m", "--engine", "llama.cpp", "--context", "8192",
      "--topology", "4x-rtx-4090", "--objective", "fewest-gpus", "--format", "json",
    ])
    #expect(plan.status == 0, "\(plan.stderr)")
    let planPath = folder.appendingPathComponent("plan.json").path
    try plan.stdout.write(toFile: planPath, atomically: true, encoding: .utf8)
    let log = "Tests/ShardPlanTests/Fixtures/engine-logs/ollama-llama3.1-8b-q4_k_m-rtx4090.log"
    let table = try Self.run(["reconcile", log, "--plan", planPath])
    #expect(table.status == 0, "\(table.stderr)")
    let kvLine = table.stdout.split(separator: "\n").first { $0.contains("kvCache") && $0.contains("CUDA0") }
    #expect(kvLine?.contains("agree") == true, "\(table.stdout)")
    let json = try Self.run(["reconcile", log, "--plan", planPath, "--format", "json"])
    let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    let logs = object?["logs"] as? [[String: Any]]
    #expect(logs?.first?["engine"] as? String == "llama.cpp")
    let rows = logs?.first?["rows"] as? [[String: Any]] ?? []
    let kv = rows.first { $0["term"] as? String == "kvCache" && $0["logDevice"] as? String == "CUDA0" }
    #expect(kv?["relativeError"] as? Double == 0)
    // Without a plan it lists what the log measured.
    let alone = try Self.run(["reconcile", log])
    #expect(alone.status == 0 && alone.stdout.contains("1.0 GiB"))
    // The same plan made here from plan's own flags, its engine, context, flash
    // attention and n_ubatch taken from the log (llama.cpp, n_ctx 8192, flash_attn
    // 0): the same table but for the compute buffer, which the plan.json (made for
    // shardplan's own launch line, flash attention on) puts lower.
    let planned = try Self.run([
      "reconcile", log, "--model", "meta-llama/Llama-3.1-8B", "--quant", "q4_k_m", "--topology", "4x-rtx-4090",
      "--objective", "fewest-gpus",
    ])
    #expect(planned.status == 0, "\(planned.stderr)")
    // Rows as words (the columns' widths follow the longest cell).
    func words(_ text: String, activations: Bool) -> [[Substring]] {
      text.split(separator: "\n").filter { $0.contains("activations") == activations }
        .map { $0.split(separator: " ") }
    }
    #expect(words(planned.stdout, activations: false) == words(table.stdout, activations: false))
    let computeBuffer = { (text: String) in
      words(text, activations: true).first { $0.contains("(CUDA0)") }?.last
    }
    #expect(computeBuffer(planned.stdout) == "agree", "\(planned.stdout)")
    #expect(computeBuffer(table.stdout) == "low", "\(table.stdout)")
    let both = try Self.run(["reconcile", log, "--plan", planPath, "--model", "meta-llama/Llama-3.1-8B"])
    #expect(both.status == 2 && both.stderr.contains("--plan or --model"))
  }

  @Test func orchestratorExampleDecides() throws {
    let process = Process()
    process.executableURL = Self.binary.deletingLastPathComponent().appendingPathComponent("OrchestratorExample")
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    #expect(output.contains("launch reasoning: Qwen/Qwen3-32B on GPU 0"))
    #expect(output.contains("launch coder: Qwen/Qwen2.5-7B-Instruct on GPU 1"))
    #expect(output.contains("vllm.coder.sh: --gpu-memory-utilization 0.900"))
  }

  /// An architecture shardplan does not know: exit 2 naming it from config.json
  /// alone and from safetensors headers without its KV cache; with
  /// `--kv-bytes-per-token` its plan counts exactly that cache.
  @Test func unknownArchitecturesFailClosed() throws {
    let folder = try SyntheticFiles.folder("cli-mystery")
    let config = """
      {"model_type":"mystery_lm","hidden_size":256,"intermediate_size":512,"num_hidden_layers":4,
       "num_attention_heads":4,"vocab_size":1000,"max_position_embeddings":8192,"torch_dtype":"bfloat16"}
      """
    try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    let plan = ["plan", folder.path, "--topology", "desktop-rtx-3060-12gb", "--context", "4096"]
    let configOnly = try Self.run(plan)
    #expect(configOnly.status == 2 && configOnly.stderr.contains("'mystery_lm' is not an architecture"))
    try SyntheticFiles.writeSafetensors(
      folder.appendingPathComponent("model.safetensors"),
      tensors: [
        ("model.embed_tokens.weight", "BF16", [1000, 256]), ("model.layers.0.mixer.weight", "BF16", [256, 256]),
      ]
    )
    let noKV = try Self.run(plan)
    #expect(noKV.status == 2 && noKV.stderr.contains("--kv-bytes-per-token"), "\(noKV.stderr)")
    let estimate = try Self.run(["estimate", folder.path, "--context", "4096"])
    #expect(estimate.status == 2 && estimate.stderr.contains("mystery_lm"))
    let given = try Self.run(plan + ["--kv-bytes-per-token", "65536", "--format", "json"])
    #expect(given.status == 0, "\(given.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(given.stdout.utf8)) as? [String: Any])
    let devices = try #require(json["devices"] as? [[String: Any]])
    #expect(devices.compactMap { $0["kvCacheBytes"] as? Int }.reduce(0, +) == 65_536 * 4096)
  }

  /// A vision-language model's device_map places its tower and projector whole,
  /// beside the embeddings (Gemma 3 with its SigLIP tower, transformers' default shape),
  /// under the names Gemma3ForConditionalGeneration gives them (`model.vision_tower`,
  /// `model.multi_modal_projector`, `model.language_model.layers.N`); the bare
  /// `vision_tower` and `model.layers.N` this test once expected are not modules of it.
  @Test func deviceMapPlacesAVisionTowerWhole() throws {
    let folder = try SyntheticFiles.folder("cli-vision")
    defer { try? FileManager.default.removeItem(at: folder) }
    let model = folder.appendingPathComponent("gemma3")
    try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
      atPath: Repository.path("Tests/ShardPlanTests/Fixtures/families/gemma3.config.json"),
      toPath: model.appendingPathComponent("config.json").path
    )
    let output = folder.appendingPathComponent("out").path
    let result = try Self.run([
      "plan", model.path, "--topology", "2x-rtx-pro-6000-blackwell", "--engine", "transformers", "--emit",
      "device-map", "--output", output,
    ])
    #expect(result.status == 0, "\(result.stderr)")
    let map = try String(contentsOfFile: output + "/device_map.json", encoding: .utf8)
    #expect(map.contains("\"model.vision_tower\": 0") && map.contains("\"model.multi_modal_projector\": 0"))
    #expect(!map.contains("vision_tower.") && map.contains("\"model.language_model.layers.0\": 0"))
    #expect(!map.contains("\"model.layers."))
    let estimate = try Self.run(["estimate", model.path])
    #expect(estimate.stdout.contains("vision tower (SigLIP, 12 layers of 768) is counted as weights"))
  }

  /// A context the engine would refuse exits 2 before any launch file is written;
  /// in a role split the fix names the role's own context setting.
  @Test func contextBeyondTheLimitExits2() throws {
    let single = try Self.run([
      "plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "1000000",
    ])
    #expect(single.status == 2 && single.stdout.isEmpty)
    #expect(single.stderr.contains("limit of 40960 (max_position_embeddings 40960): vllm refuses to start"))
    let estimate = try Self.run(["estimate", "Qwen/Qwen3-8B", "--context", "65536", "--engine", "sglang"])
    #expect(estimate.status == 2 && estimate.stderr.contains("sglang refuses to start"))
    let roles = try Self.run([
      "plan", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "32768", "--role", "chat=Qwen/Qwen3-8B@0",
      "--role", "embedder=google-bert/bert-base-cased@1",
    ])
    #expect(roles.status == 2)
    #expect(roles.stderr.contains("--role 'embedder=google-bert/bert-base-cased@1;context=512'"))
    // llama.cpp runs past the limit with a warning, and the plan says so.
    let gguf = try Self.run([
      "plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "65536", "--engine",
      "llama.cpp",
    ])
    #expect(gguf.status == 0 && gguf.stdout.contains("llama.cpp warns and runs"))
  }

  /// `--emit all` says which formats it left out and which plan writes each.
  @Test func emitAllNamesWhatItSkipped() throws {
    let folder = try SyntheticFiles.folder("cli-emit-all")
    defer { try? FileManager.default.removeItem(at: folder) }
    let result = try Self.run([
      "plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--emit", "all", "--output", folder.path,
    ])
    #expect(result.status == 0)
    #expect(result.stderr.contains("wrote 1 file(s)") && result.stderr.contains("vllm.sh"))
    #expect(result.stderr.contains("not sglang: the plan is for vllm; plan with --engine sglang"))
    #expect(result.stderr.contains("not llama.cpp: the plan is for vllm"))
    let script = try String(contentsOf: folder.appendingPathComponent("vllm.sh"), encoding: .utf8)
    #expect(script.contains("--max-num-seqs 1 is the plan's --concurrency 1"))
  }

  /// A role split cannot plan for another objective than packing: refused, not
  /// silently replaced (it used to print "objective: fewest-gpus" for latency).
  @Test func roleSplitRefusesAnObjectiveItCannotHonour() throws {
    let result = try Self.run([
      "plan", "--topology", "2x-rtx-pro-6000-blackwell", "--objective", "latency", "--role", "a=Qwen/Qwen3-8B@0",
      "--role", "b=meta-llama/Llama-3.2-1B@1",
    ])
    #expect(result.status == 2 && result.stderr.contains("cannot plan for latency"))
  }

  /// First contact and options honoured or refused (issue 11, items 7 and 8).
  @Test func firstContactAndOptionsHonoured() throws {
    // A near-miss topology name: neither a file nor bundled, with the nearest name.
    let topology = try Self.run(["plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000"])
    #expect(topology.status == 2)
    #expect(topology.stderr.contains("neither a file nor a bundled topology"))
    #expect(topology.stderr.contains("Did you mean 2x-rtx-pro-6000-blackwell?"))
    // A near-miss model id, offline: the bundled model it resembles.
    let model = try Self.run(["plan", "Qwen/Qwen3-32B-Instruct", "--topology", "2x-rtx-pro-6000-blackwell"])
    #expect(model.status == 2 && model.stderr.contains("Did you mean Qwen/Qwen3-32B"))
    // vLLM's token counts: 32k is 32000, 32K is 32768; --dtype auto keeps the weights as stored.
    let decimal = try Self.run([
      "plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "32k", "--dtype", "auto",
    ])
    #expect(decimal.status == 0 && decimal.stdout.contains("as bf16, 1 × 32000 tokens"))
    let binary = try Self.run(["plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "32K"])
    #expect(binary.stdout.contains("1 × 32768 tokens"))
    // Formats a command cannot write are refused, not replaced by a table.
    let gpus = try Self.run(["gpus", "--format", "yaml"])
    #expect(gpus.status == 2 && gpus.stderr.contains("table or json"))
    #expect(try Self.run(["validate", "Examples/layouts/broken.yaml", "--format", "dot"]).status == 2)
    let notYAML = FileManager.default.temporaryDirectory.appendingPathComponent("not-yaml-\(getpid()).yaml")
    try "workloads: [unclosed".write(to: notYAML, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: notYAML) }
    #expect(try Self.run(["validate", notYAML.path]).status == 2)
    // estimate --train plans at most 2048 tokens unless asked, as its help says.
    let train = try Self.run(["estimate", "Qwen/Qwen3-8B", "--train", "lora"])
    #expect(train.stdout.contains("micro-batch 1 × 2048 tokens"))
    // train-time's step and memory check use the same sequence (GPT-2 has 1024 positions).
    let time = try Self.run([
      "train-time", "openai-community/gpt2", "--tokens", "1B", "--topology", "2x-rtx-pro-6000-blackwell",
    ])
    #expect(time.stdout.contains("micro-batch 1 × 1024 tokens × 2 GPUs"))
  }

  /// Every `--format json` output carries `schemaVersion` and conforms to its
  /// schema in `Schemas/`, errors included (JSON on stdout, exit status 2).
  @Test(arguments: [
    ("topology", ["topology", "2x8-h100-ib", "--format", "json"]),
    ("topology", ["topology", "Topologies/captured/nvsmi-topo_8xH200-NV18_noNIC.txt", "--format", "json"]),
    ("estimate", ["estimate", "Qwen/Qwen3-30B-A3B", "--format", "json"]),
    ("estimate", ["estimate", "Qwen/Qwen3-8B", "--train", "lora", "--format", "json"]),
    ("plan", ["plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--format", "json"]),
    (
      "plan",
      [
        "plan", "Qwen/Qwen2.5-72B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "131072", "--format",
        "json",
      ]
    ),
    (
      "plan",
      [
        "plan", "meta-llama/Llama-3.1-8B", "--train", "lora", "--topology", "2x-rtx-pro-6000-blackwell", "--format",
        "json",
      ]
    ),
    (
      "plan",
      [
        "plan", "google-bert/bert-base-cased", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "512",
        "--format", "json",
      ]
    ),
    ("validate", ["validate", "Examples/layouts/llama70b-pp2-2x-rtx-pro-6000.yaml", "--format", "json"]),
    ("validate", ["validate", "Examples/layouts/broken.yaml", "--format", "json"]),
    (
      "train-time",
      [
        "train-time", "openai-community/gpt2", "--tokens", "1B", "--topology", "2x-rtx-pro-6000-blackwell", "--format",
        "json",
      ]
    ),
    ("gpus", ["gpus", "--format", "json"]),
    ("models", ["models", "--format", "json"]),
    ("error", ["plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000", "--format", "json"]),
    ("error", ["estimate", "/nonexistent/config.json", "--format", "json"]),
  ])
  func jsonOutputsMatchTheirSchemas(_ schema: String, _ arguments: [String]) throws {
    let result = try Self.run(arguments)
    #expect(schema == "error" ? result.status == 2 : result.status <= 1, "\(arguments): \(result.stderr)")
    let value = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    let url = Repository.root.appendingPathComponent("Schemas/\(schema).schema.json")
    let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let violations = JSONSchemaCheck.violations(value, schema: document)
    #expect(violations.isEmpty, "\(arguments.joined(separator: " ")): \(violations.prefix(5))")
    #expect((value as? [String: Any])?["schemaVersion"] is Int)
  }

  /// The schema check is not vacuous: a plan missing its verdict, with a renamed
  /// device field or a string where a count goes, is caught.
  @Test func schemaCheckCatchesDrift() throws {
    let result = try Self.run(["plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--format", "json"])
    var plan = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let url = Repository.root.appendingPathComponent("Schemas/plan.schema.json")
    let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    #expect(JSONSchemaCheck.violations(plan, schema: schema).isEmpty)
    plan["verdict"] = nil
    var devices = try #require(plan["devices"] as? [[String: Any]])
    devices[0]["capacityBytes"] = devices[0]["memoryBytes"]
    devices[0]["memoryBytes"] = nil
    devices[0]["usedBytes"] = "12 GiB"
    plan["devices"] = devices
    let found = JSONSchemaCheck.violations(plan, schema: schema)
    #expect(found.contains { $0.contains("'verdict' is missing") })
    #expect(found.contains { $0.contains("'capacityBytes' is not in the schema") })
    #expect(found.contains { $0.contains("usedBytes: string where integer is expected") })
  }

  /// The README shows scenarios' output as they run today: each block between
  /// `<!-- output of Examples/scenarios/NAME.sh -->` and `<!-- end of output -->` is
  /// the script's output. `Scripts/update-readme-examples.sh` (or
  /// `RECORD_SNAPSHOTS=1 swift test --filter readmeShows`) rewrites them.
  @Test func readmeShowsTheScenariosAsTheyRun() throws {
    let url = Repository.root.appendingPathComponent("README.md")
    let readme = try String(contentsOf: url, encoding: .utf8)
    let start = "<!-- output of Examples/scenarios/"
    let end = "<!-- end of output -->"
    var updated = ""
    var rest = Substring(readme)
    var blocks = 0
    while let open = rest.range(of: start) {
      let nameEnd = try #require(rest[open.upperBound...].range(of: " -->"))
      let script = String(rest[open.upperBound..<nameEnd.lowerBound])
      let close = try #require(rest[nameEnd.upperBound...].range(of: end), "\(script): no end marker")
      let shown = String(rest[nameEnd.upperBound..<close.lowerBound])
      let fresh = "\n```\n\(try Self.runScenario(script).output)```\n"
      if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == nil {
        #expect(shown == fresh, "README's output of \(script) is stale: run Scripts/update-readme-examples.sh")
      }
      updated += rest[..<nameEnd.upperBound] + fresh
      rest = rest[close.lowerBound...]
      blocks += 1
    }
    updated += rest
    #expect(blocks >= 2)
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] != nil, updated != readme {
      try updated.write(to: url, atomically: true, encoding: .utf8)
    }
  }

  /// Issue 12, items 5 and 9–11: ties broken by what the objective promises,
  /// engine rules applied as the engine applies them, catalog memory as nvidia-smi
  /// reports it, and options that would do nothing refused.
  @Test func expertNumbersAndEngineRules() throws {
    // Longest context: TP 8 and the pipelines all reach 131072 tokens; the fastest wins.
    let longest = try Self.run([
      "plan", "meta-llama/Llama-3.1-70B", "--topology", "8x-h100-sxm", "--objective", "longest-context",
    ])
    #expect(longest.stdout.contains("TP 8 × PP 1 on GPU 0,1,2,3,4,5,6,7 fits"))
    #expect(!longest.stdout.contains("lower throughput: 95.8 vs"))
    // Engine rules: vLLM has no q8_0 cache; 32 heads do not split over 3 GPUs.
    let kv = try Self.run(["plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--kv-dtype", "q8_0"])
    #expect(kv.status == 2 && kv.stderr.contains("vllm has no q8_0 KV cache"))
    let heads = try Self.run(["estimate", "Qwen/Qwen3-8B", "--gpus", "3"])
    #expect(heads.status == 2 && heads.stderr.contains("Use --gpus 2 or --gpus 4"))
    // Options that do nothing without --train are refused.
    for arguments in [
      ["plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--zero", "3"],
      ["plan", "Qwen/Qwen3-8B", "--topology", "2x-rtx-pro-6000-blackwell", "--mfu", "0.5"],
      ["estimate", "Qwen/Qwen3-8B", "--lora-rank", "8"],
    ] {
      let result = try Self.run(arguments)
      #expect(result.status == 2 && result.stderr.contains("does nothing without --train"), "\(arguments)")
    }
    // nvidia-smi's MiB: H200 143771, B200 183359, H100 SXM 81559.
    let gpus = try Self.run(["gpus", "--format", "json"])
    let catalog = try #require(try JSONSerialization.jsonObject(with: Data(gpus.stdout.utf8)) as? [String: Any])
    let cards = try #require(catalog["gpus"] as? [[String: Any]])
    func memory(_ id: String) -> Int? { cards.first { $0["id"] as? String == id }?["memoryBytes"] as? Int }
    #expect(memory("h200") == 143_771 << 20 && memory("b200") == 183_359 << 20 && memory("h100-sxm") == 81_559 << 20)
  }
}
