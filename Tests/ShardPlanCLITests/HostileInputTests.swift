import Foundation
import Testing
import _ShardPlanTestSupport

/// Hostile and malformed inputs, each run through the built binary: exit status 2,
/// a message naming the file, no trap, no hang (issue 13). The cases are generated
/// here (the large ones would not belong in the repository): every numeric GGUF
/// field the reader uses at 0, −1, 2^62 and Int64.max, contradicting config.json
/// fields, layouts and topologies with absurd numbers, unsafe role names.
@Suite("Hostile input")
struct HostileInputTests {
  struct Case: CustomStringConvertible {
    var name: String
    var arguments: [String]
    var description: String { name }
  }

  static let folder: URL = {
    // Earlier runs' corpora (their process gone) are removed: the files are large.
    let temporary = FileManager.default.temporaryDirectory
    for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
    where name.hasPrefix("shardplan-hostile-") {
      if let pid = Int32(name.dropFirst("shardplan-hostile-".count)), pid != getpid(), kill(pid, 0) != 0 {
        try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
      }
    }
    let url = temporary.appendingPathComponent("shardplan-hostile-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }()

  static func file(_ name: String, _ text: String) -> String {
    let url = folder.appendingPathComponent(name)
    try? text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  /// GGUF cases: each numeric field the reader turns into sizes, at values no
  /// model has.
  static func ggufCases() -> [Case] {
    let fields = [
      "llama.block_count", "llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
      "llama.attention.head_count_kv", "llama.attention.key_length", "llama.attention.value_length",
      "llama.context_length", "llama.expert_count", "llama.expert_used_count",
    ]
    let values: [(String, SyntheticFiles.Meta)] = [
      ("zero", .u32(0)), ("minus1", .i32(-1)), ("minus1-int8", .i8(-1)), ("2e62", .u64(1 << 62)),
      ("int64max", .i64(.max)), ("uint64max", .u64(.max)),
    ]
    var cases: [Case] = []
    for field in fields {
      for (label, value) in values {
        // A zero expert count is a dense model, and zero experts used with none
        // is too: those are valid files.
        if field.hasSuffix("expert_count") || field.hasSuffix("expert_used_count"), label == "zero" { continue }
        let url = folder.appendingPathComponent("\(field)-\(label).gguf")
        _ = try? SyntheticFiles.tinyLlamaGGUF(url, overrides: [(field, value)])
        cases.append(Case(name: "gguf \(field) = \(label)", arguments: ["estimate", url.path]))
      }
    }
    // An array of 2^24 + 1 one-byte elements: inside the file, past any tokenizer.
    var big = Data("GGUF".utf8)
    func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { big.append(contentsOf: $0) } }
    func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { big.append(contentsOf: $0) } }
    u32(3)
    u64(0)
    u64(1)
    u64(1)
    big.append(contentsOf: Array("x".utf8))
    u32(9)
    u32(0)
    u64((1 << 24) + 1)
    big.append(Data(count: (1 << 24) + 1))
    let url = folder.appendingPathComponent("big-array.gguf")
    try? big.write(to: url)
    cases.append(Case(name: "gguf metadata array of 2^24 + 1 elements", arguments: ["estimate", url.path]))
    // 3 million 16-byte strings (72 MB): within the array count, past the 64 MiB of metadata.
    var strings = Data("GGUF".utf8)
    func append(_ value: some FixedWidthInteger) {
      withUnsafeBytes(of: value.littleEndian) { strings.append(contentsOf: $0) }
    }
    append(UInt32(3))
    append(UInt64(0))
    append(UInt64(1))
    append(UInt64(21))
    strings.append(contentsOf: Array("tokenizer.ggml.tokens".utf8))
    append(UInt32(9))
    append(UInt32(8))
    append(UInt64(3_000_000))
    var element = Data()
    withUnsafeBytes(of: UInt64(16).littleEndian) { element.append(contentsOf: $0) }
    element.append(contentsOf: Array("tok_000000000000".utf8))
    while element.count < 3_000_000 * 24 { element.append(element) }  // doubling: fast in a debug build
    strings.append(element.prefix(3_000_000 * 24))
    let stringsURL = folder.appendingPathComponent("big-strings.gguf")
    try? strings.write(to: stringsURL)
    cases.append(Case(name: "gguf metadata of 72 MB of strings", arguments: ["estimate", stringsURL.path]))
    return cases
  }

  /// A valid small Llama config; each case replaces some of its fields.
  nonisolated(unsafe) static let config: [String: Any] = [
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "hidden_size": 256,
    "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 512, "vocab_size": 512,
    "max_position_embeddings": 4096, "torch_dtype": "bfloat16",
  ]

  static func configCases() -> [Case] {
    let huge = 1 << 62
    let bad: [(String, [String: Any])] = [
      ("kv-not-dividing", ["num_key_value_heads": 3]),
      ("kv-above-heads", ["num_key_value_heads": 8]),
      ("kv-zero", ["num_key_value_heads": 0]),
      ("hidden-not-divisible", ["hidden_size": 250]),
      ("head-dim-zero", ["head_dim": 0]),
      ("heads-huge", ["num_attention_heads": huge]),
      ("heads-zero", ["num_attention_heads": 0]),
      ("hidden-huge", ["hidden_size": huge]),
      ("hidden-zero", ["hidden_size": 0]),
      ("heads-negative", ["num_attention_heads": -4]),
      ("layers-huge", ["num_hidden_layers": 100_000_000]),
      ("layers-zero", ["num_hidden_layers": 0]),
      ("vocab-zero", ["vocab_size": 0]),
      ("vocab-huge", ["vocab_size": huge]),
      ("context-negative", ["max_position_embeddings": -1]),
      ("context-zero", ["max_position_embeddings": 0]),
      ("context-huge", ["max_position_embeddings": huge]),
      ("experts-huge", ["num_local_experts": huge, "num_experts_per_tok": 2]),
      ("experts-used-above", ["num_local_experts": 8, "num_experts_per_tok": 9]),
      ("intermediate-huge", ["intermediate_size": huge]),
      ("float-layers", ["num_hidden_layers": 2.5]),
      ("gptq-bits-huge", ["quantization_config": ["quant_method": "gptq", "bits": huge, "group_size": 128]]),
      ("gptq-bits-negative", ["quantization_config": ["quant_method": "gptq", "bits": -4, "group_size": 128]]),
      ("gptq-group-zero", ["quantization_config": ["quant_method": "gptq", "bits": 4, "group_size": 0]]),
      ("awq-group-negative", ["quantization_config": ["quant_method": "awq", "bits": 4, "group_size": -7]]),
      (
        "compressed-group-zero",
        [
          "quantization_config": [
            "quant_method": "compressed-tensors",
            "config_groups": ["g": ["weights": ["num_bits": 4, "type": "int", "group_size": 0]]],
          ]
        ]
      ),
      (
        "scale-overflow",
        [
          "num_hidden_layers": 4096, "num_local_experts": 4096, "num_experts_per_tok": 8, "hidden_size": 1 << 20,
          "num_attention_heads": 1024, "num_key_value_heads": 1024, "intermediate_size": 1 << 22,
        ]
      ),
      ("string-heads", ["num_attention_heads": "four"]),
    ]
    return bad.map { label, fields in
      let merged = config.merging(fields) { $1 }
      let data = (try? JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys])) ?? Data()
      let path = file("\(label).config.json", String(decoding: data, as: UTF8.self))
      return Case(name: "config.json \(label)", arguments: ["estimate", path])
    }
  }

  static func layoutCases() -> [Case] {
    let base = { (layers: String) in
      """
      topology: 2x-rtx-3090-nvlink
      workloads:
        - role: chat
          model: meta-llama/Llama-3.2-1B
          engine: vllm
          context: 4096
          stages:
            - devices: [0]
              layers: \(layers)
      """
    }
    var cases = [
      Case(
        name: "layout layer Int.max",
        arguments: ["validate", file("intmax.layout.yaml", base("0-9223372036854775807"))]
      ),
      Case(
        name: "layout first layer huge",
        arguments: ["validate", file("first.layout.yaml", base("9223372036854775806-9223372036854775807"))]
      ),
      Case(
        name: "layout layer beyond Int",
        arguments: ["validate", file("beyond.layout.yaml", base("0-99999999999999999999"))]
      ),
      Case(name: "layout negative layer", arguments: ["validate", file("negative.layout.yaml", base("-5-15"))]),
    ]
    for role in ["../escape", "a/b", "x\u{0}y", ""] {
      let text = """
        topology: 2x-rtx-3090-nvlink
        workloads:
          - role: "\(role.replacingOccurrences(of: "\u{0}", with: "\\0"))"
            model: meta-llama/Llama-3.2-1B
            engine: vllm
            context: 4096
            stages:
              - devices: [0]
                layers: 0-15
        """
      let path = file("role-\(cases.count).layout.yaml", text)
      cases.append(
        Case(
          name: "layout role \(role.debugDescription)",
          arguments: [
            "emit", path, "--emit", "vllm", "--output", folder.appendingPathComponent("out-\(cases.count)").path,
          ]
        )
      )
    }
    return cases
  }

  static func topologyCases() -> [Case] {
    var many = "name: many\nhosts:\n  - name: box\n    gpus:\n"
    for _ in 0..<16384 { many += "      - model: h100-sxm\n" }
    var hosts = "name: hosts\nhosts:\n"
    for index in 0..<5000 { hosts += "  - name: h\(index)\n    gpus:\n      - model: h100-sxm\n" }
    var keys = "name: keys\nhosts:\n  - name: box\n    gpus:\n      - model: h100-sxm\n"
    for index in 0..<200_000 { keys += "k\(index): \(index)\n" }
    let csv =
      "index, name, memory.total [MiB]\n0, NVIDIA H100 80GB HBM3, 81559 MiB\n0, NVIDIA H100 80GB HBM3, 81559 MiB\n"
    return [
      Case(name: "topology 16384 GPUs on one host", arguments: ["topology", file("many.yaml", many)]),
      Case(name: "topology 5000 hosts", arguments: ["topology", file("hosts.yaml", hosts)]),
      Case(name: "topology 200000 keys", arguments: ["topology", file("keys.yaml", keys)]),
      Case(name: "nvidia-smi CSV duplicate index", arguments: ["topology", file("dup.csv", csv)]),
    ]
  }

  /// A model folder: a valid config.json and one safetensors file whose header is
  /// `header` (its 8-byte length first, then `extra` bytes of data).
  static func safetensorsFolder(_ label: String, header: String, length: UInt64? = nil, extra: Int = 0) -> String {
    let folder = Self.folder.appendingPathComponent("st-\(label)")
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let data = (try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])) ?? Data()
    try? data.write(to: folder.appendingPathComponent("config.json"))
    var bytes = Data()
    var size = (length ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &size) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: Array(header.utf8))
    bytes.append(Data(count: extra))
    try? bytes.write(to: folder.appendingPathComponent("model.safetensors"))
    return folder.path
  }

  static func safetensorsCases() -> [Case] {
    let entry = { (shape: String, offsets: String) in
      "{\"model.embed_tokens.weight\":{\"dtype\":\"BF16\",\"shape\":\(shape),\"data_offsets\":\(offsets)}}"
    }
    var zeroSize = "{"
    for index in 0..<200_000 {
      zeroSize += "\"t\(index)\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[0,0]},"
    }
    zeroSize += "\"__metadata__\":{}}"
    let cases: [(String, String, UInt64?, Int)] = [
      ("length-huge", "{}", UInt64(1) << 63, 0),
      ("length-beyond-file", "{}", 1 << 20, 0),
      ("not-json", "this is not json", nil, 0),
      ("offsets-reversed", entry("[4,4]", "[32,0]"), nil, 32),
      ("offsets-beyond-data", entry("[4,4]", "[0,1048576]"), nil, 32),
      ("shape-negative", entry("[-4,4]", "[0,32]"), nil, 32),
      ("shape-overflow", entry("[4611686018427387904,4611686018427387904]", "[0,32]"), nil, 32),
      ("shape-mismatch", entry("[4,8]", "[0,32]"), nil, 32),
      ("dtype-unknown", entry("[4,4]", "[0,32]").replacingOccurrences(of: "BF16", with: "Q17"), nil, 32),
      ("deep-nesting", String(repeating: "[", count: 100_000), nil, 0),
      ("zero-size-entries", zeroSize, nil, 0),
      // 80 MB of numbers: inside safetensors' 100 MB header limit, past any model's values.
      (
        "header-of-40-million-numbers",
        "{\"__metadata__\":{\"x\":[" + String(repeating: "1,", count: 40_000_000) + "1]}}", nil, 0
      ),
    ]
    return cases.map { label, header, length, extra in
      Case(
        name: "safetensors \(label)",
        arguments: ["estimate", safetensorsFolder(label, header: header, length: length, extra: extra)]
      )
    }
  }

  /// A sharded checkpoint whose index names a shard outside its folder.
  static func indexCases() -> [Case] {
    ["/etc/passwd", "../outside.safetensors", "a?b#c.safetensors", ""].enumerated().map { offset, shard in
      let folder = Self.folder.appendingPathComponent("index-\(offset)")
      try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      let data = (try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])) ?? Data()
      try? data.write(to: folder.appendingPathComponent("config.json"))
      let index = "{\"metadata\":{\"total_size\":32},\"weight_map\":{\"model.embed_tokens.weight\":\"\(shard)\"}}"
      try? index.write(
        to: folder.appendingPathComponent("model.safetensors.index.json"),
        atomically: true,
        encoding: .utf8
      )
      return Case(name: "index shard \(shard.debugDescription)", arguments: ["estimate", folder.path])
    }
  }

  static func expertLoadCases() -> [Case] {
    let huge = "[[" + String(repeating: "1,", count: 10_000_000) + "1]]"
    return ["[[1e308, 1, 2]]", "[[-1]]", "[[\"x\"]]", "[]", huge].enumerated().map { offset, text in
      Case(
        name: "expert load \(text.prefix(20))",
        arguments: [
          "plan", "Qwen/Qwen3-30B-A3B", "--topology", "8x-h100-sxm", "--strategy", "expert",
          "--expert-load", file("load-\(offset).json", text),
        ]
      )
    }
  }

  static func moreTextCases() -> [Case] {
    var laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in 1...9 {
      let previous = level == 1 ? "a" : "l\(level - 1)"
      laughs +=
        "l\(level): &l\(level) [*\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous), *\(previous)]\n"
    }
    laughs += "name: bomb\nhosts:\n  - name: box\n    gpus:\n      - model: h100-sxm\n"
    let truncatedQ =
      "==============NVSMI LOG==============\n\nTimestamp : Thu Dec  3 10:00:00 2026\nDriver Version : 570.86\nAttached GPUs : 8\nGPU 00000000:18:00.0\n    Product Name : NVIDIA H100"
    var nccl = "<system version=\"1\">\n  <cpu numaid=\"0\" arch=\"x86_64\" vendor=\"GenuineIntel\">\n"
    for index in 0..<10_000 {
      let bus = String(format: "%04x:%02x:%02x.0", index / 4096, (index / 16) % 256, index % 16)
      nccl +=
        "    <pci busid=\"\(bus)\" class=\"0x030200\" vendor=\"0x10de\" device=\"0x2330\" link_speed=\"32.0 GT/s PCIe\" link_width=\"16\">\n      <gpu dev=\"\(index)\" sm=\"90\" rank=\"\(index)\" gdr=\"1\"/>\n    </pci>\n"
    }
    nccl += "  </cpu>\n</system>\n"
    return [
      Case(name: "topology NCCL XML of 10000 GPUs", arguments: ["topology", file("nccl-10k.xml", nccl)]),
      Case(name: "topology alias bomb", arguments: ["topology", file("laughs.yaml", laughs)]),
      Case(
        name: "nvidia-smi -q unreadable memory total",
        arguments: [
          "topology",
          file(
            "q-total.txt",
            "==============NVSMI LOG==============\n\nAttached GPUs                             : 1\nGPU 00000000:18:00.0\n    Product Name                          : NVIDIA H100 80GB HBM3\n    FB Memory Usage\n        Total                             : lots MiB\n        Used                              : 0 MiB\n"
          ),
        ]
      ),
      Case(
        name: "nvidia-smi topo -m with an unreadable GPU column",
        arguments: [
          "topology",
          file(
            "topo-column.txt",
            "\tGPU0\tGPU99999999999999999999\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\nGPU0\t X \tPHB\t0-63\t0\t\tN/A\nGPU99999999999999999999\tPHB\t X \t0-63\t0\t\tN/A\n\nLegend:\n\n  X    = Self\n"
          ),
        ]
      ),
      Case(name: "nvidia-smi -q truncated", arguments: ["topology", file("truncated-q.txt", truncatedQ)]),
      Case(
        name: "config.json deep nesting",
        arguments: ["estimate", file("deep.config.json", String(repeating: "[", count: 200_000))]
      ),
      Case(name: "model /dev/zero", arguments: ["estimate", "/dev/zero"]),
      Case(
        name: "config.json of 20 MB",
        arguments: [
          "estimate",
          file(
            "big.config.json",
            "{\"model_type\": \"llama\", \"x\": \"" + String(repeating: "a", count: 20 << 20) + "\"}"
          ),
        ]
      ),
      Case(
        name: "config.json with an array of 7 million numbers",
        arguments: [
          "estimate",
          file(
            "numbers.config.json",
            "{\"model_type\": \"llama\", \"x\": [" + String(repeating: "1,", count: 7_000_000) + "1]}"
          ),
        ]
      ),
      Case(name: "config.json not an object", arguments: ["estimate", file("array.config.json", "[1, 2, 3]")]),
      Case(name: "config.json empty", arguments: ["estimate", file("empty.config.json", "")]),
      Case(name: "layout not YAML", arguments: ["validate", file("binary.layout.yaml", "\u{1}\u{2}: [: ]]")]),
      Case(
        name: "topology YAML flow sequence of 4 million items",
        arguments: [
          "topology", file("flow.yaml", "name: x\nhosts: [" + String(repeating: "1,", count: 4_000_000) + "1]\n"),
        ]
      ),
      Case(
        name: "layout YAML of 2 million lines",
        arguments: [
          "validate", file("lines.layout.yaml", "topology: x\nroles:\n" + String(repeating: "- 1\n", count: 2_000_000)),
        ]
      ),
      Case(name: "topology not YAML", arguments: ["topology", file("broken.yaml", "name: [unclosed\nhosts: {")]),
      Case(
        name: "topology hwloc XML with a mismatched tag",
        arguments: [
          "topology",
          file(
            "mismatched.hwloc.xml",
            "<?xml version=\"1.0\"?>\n<topology version=\"2.0\">\n  <object type=\"Machine\">\n  </objekt>\n</topology>\n"
          ),
        ]
      ),
      Case(
        name: "topology hwloc XML cut short",
        arguments: [
          "topology",
          file("cut.hwloc.xml", "<?xml version=\"1.0\"?>\n<topology version=\"2.0\">\n  <object type=\"Mach"),
        ]
      ),
    ]
  }

  /// Engine logs for `reconcile`: nothing an engine prints, a 24 MB line, and plans it cannot read.
  static func engineLogCases() -> [Case] {
    let good = Repository.path("Tests/ShardPlanTests/Fixtures/engine-logs/llamafile-pr552-rtx4080.log")
    var long = String(repeating: "x", count: 24 << 20) + "\n"
    long += String(repeating: "INFO starting up, nothing to see\n", count: 200_000)
    return [
      Case(name: "engine log of another program", arguments: ["reconcile", file("other.log", "hello\nworld\n")]),
      Case(name: "engine log with a 24 MB line", arguments: ["reconcile", file("long.log", long)]),
      Case(name: "engine log empty", arguments: ["reconcile", file("empty.log", "")]),
      Case(
        name: "engine log with a plan of schema 3",
        arguments: ["reconcile", "--plan", file("old.plan.json", "{\"schemaVersion\": 3, \"workloads\": []}"), good]
      ),
      Case(
        name: "engine log with a plan that is not JSON",
        arguments: ["reconcile", "--plan", file("broken.plan.json", "{\"schemaVersion\": 4,"), good]
      ),
    ]
  }

  static let cases: [Case] =
    ggufCases() + configCases() + layoutCases() + topologyCases() + safetensorsCases() + indexCases() + moreTextCases()
    + expertLoadCases() + engineLogCases()

  /// Launch files are all or nothing: a folder where one of them goes stops the
  /// whole set before any is written, older files stay as they were, and a killed
  /// run's stale temporaries are cleaned up (issue 15, item 1).
  @Test func emitIsAllOrNothing() throws {
    let out = Self.folder.appendingPathComponent("all-or-nothing")
    try? FileManager.default.removeItem(at: out)
    try FileManager.default.createDirectory(
      at: out.appendingPathComponent("max_memory.json"),
      withIntermediateDirectories: true
    )
    try "old\n".write(to: out.appendingPathComponent("accelerate.yaml"), atomically: false, encoding: .utf8)
    let stale = out.appendingPathComponent(".accelerate.yaml.partial-999999")
    try "half".write(to: stale, atomically: false, encoding: .utf8)
    let result = try CLITests.run([
      "plan", "Qwen/Qwen2.5-7B-Instruct", "--topology", "2x-rtx-pro-6000-blackwell", "--engine", "transformers",
      "--emit", "all", "--output", out.path,
    ])
    #expect(result.status == 2, "\(result.stderr)")
    #expect(result.stderr.contains("max_memory.json"))
    let names = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
    #expect(names == ["max_memory.json", "accelerate.yaml"], "\(names)")
    #expect(try String(contentsOf: out.appendingPathComponent("accelerate.yaml"), encoding: .utf8) == "old\n")
  }

  /// Hostile Hub servers against the binary, with huggingface_hub's timeout
  /// variables at 1 s: a gzip bomb (6.7 MB inflating to 1 GiB) is refused
  /// before it is inflated, inside a 256 MiB heap; a silent server and one that
  /// trickles a byte per 3 s are cut off, each with exit 2 and a message that
  /// names config.json and the limit, in seconds. (While it waits, URLSession on
  /// Linux polls: about one core of CPU for the wait, a FoundationNetworking
  /// trait that the timeouts bound.)
  @Test func hostileHubServers() throws {
    let path = "/org/tiny/resolve/main/config.json"
    let cases: [(LoopbackHTTPServer.Behaviour, String)] = [
      (.encoded(SyntheticFiles.gzipBomb(inflatingTo: 1 << 30), encoding: "gzip"), "compressed (gzip)"),
      (.silent(seconds: 30), "no answer within 1 s (HF_HUB_ETAG_TIMEOUT)"),
      (.drip(interval: 3), "no data for 1 s (HF_HUB_DOWNLOAD_TIMEOUT)"),
    ]
    for (behaviour, expected) in cases {
      let server = try LoopbackHTTPServer(files: [path: Data("{}".utf8)])
      defer { server.stop() }
      server.set(behaviour, for: path)
      var environment = ProcessInfo.processInfo.environment
      environment["HF_HUB_OFFLINE"] = nil
      environment["HF_HUB_CACHE"] = "/nonexistent-hf-cache"
      environment["HF_ENDPOINT"] = server.baseURL
      environment["HF_HUB_ETAG_TIMEOUT"] = "1"
      environment["HF_HUB_DOWNLOAD_TIMEOUT"] = "1"
      let result = try MeasuredProcess.run(
        CLITests.binary.path,
        ["estimate", "org/tiny"],
        environment: environment,
        directory: Repository.root.path,
        dataLimitBytes: 256 << 20
      )
      #expect(result.status == 2, "\(expected): exit \(result.status)\n\(result.stderr)")
      #expect(result.stderr.contains("config.json") && result.stderr.contains(expected), "\(result.stderr)")
      #expect(!result.ranOutOfMemory, "\(expected): ran out of its 256 MiB heap")
      // Two attempts of about a second each (and a few of start-up in a debug build).
      #expect(result.seconds < 10, "\(expected): \(result.seconds) s")
    }
  }

  @Test func theCorpusCoversEveryFormat() {
    #expect(Self.cases.count >= 100, "\(Self.cases.count) cases")
    for prefix in [
      "gguf", "config.json", "layout", "topology", "nvidia-smi", "safetensors", "index", "expert load", "engine log",
    ] {
      #expect(Self.cases.contains { $0.name.hasPrefix(prefix) }, "no \(prefix) case")
    }
  }

  /// Runs the binary as `CLITests.run` does (offline), its heap capped at 256 MiB.
  static func measured(_ arguments: [String]) throws -> MeasuredProcess {
    var environment = ProcessInfo.processInfo.environment
    environment["HF_HUB_OFFLINE"] = "1"
    environment["HF_HUB_CACHE"] = "/nonexistent-hf-cache"
    return try MeasuredProcess.run(
      CLITests.binary.path,
      arguments,
      environment: environment,
      directory: Repository.root.path,
      dataLimitBytes: 256 << 20
    )
  }

  @Test(arguments: cases)
  func refusedCleanly(_ hostile: Case) throws {
    let result = try Self.measured(hostile.arguments)
    let seconds = result.seconds
    // validate and emit list a layout's problems with exit 1; everything else
    // refuses with 2, and so do they for a file that is not YAML at all.
    let listsFindings =
      ["validate", "emit"].contains(hostile.arguments.first ?? "") && !hostile.name.hasSuffix("not YAML")
    let allowed: Set<Int32> = listsFindings ? [1, 2] : [2]
    #expect(
      allowed.contains(result.status),
      "\(hostile): exit \(result.status)\n\(result.stderr.prefix(400))\(result.stdout.prefix(200))"
    )
    // The message names the file (or the flag) it is about.
    let input = hostile.arguments.first { $0.hasPrefix(Self.folder.path) && !$0.contains("/out-") }
    let file = (input ?? hostile.arguments.dropFirst().first).map { URL(fileURLWithPath: $0).lastPathComponent } ?? ""
    #expect((result.stderr + result.stdout).contains(file), "\(hostile): the message does not name \(file)")
    // Nothing half-written: an output folder given stays empty or absent.
    if let out = hostile.arguments.firstIndex(of: "--output").map({ hostile.arguments[$0 + 1] }) {
      let written = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
      #expect(written.isEmpty, "\(hostile): wrote \(written)")
    }
    #expect(seconds < 10, "\(hostile): \(seconds) s")
    // Bounded memory: each run has a 256 MiB heap (the inputs reach hundreds of MB
    // only when a cap is missing; a plain run takes about 30 MB).
    #expect(!result.ranOutOfMemory, "\(hostile): ran out of its 256 MiB heap")
  }
}
