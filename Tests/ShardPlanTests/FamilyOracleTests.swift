import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// Each family fixture's tensor list against what transformers' own modeling
/// code builds from the same config.json (`Scripts/family-oracle.py`: the model
/// instantiated on PyTorch's meta device, every parameter once and every
/// persistent buffer, as `save_pretrained` writes them). The oracle reproduces the
/// published `total_size` of Llama-3.1-8B (16,060,522,496), Qwen3-30B-A3B
/// (61,064,245,248) and Mixtral-8x7B (93,405,585,408), which are among the fixtures.
@Suite("Families against transformers' modeling code")
struct FamilyOracleTests {
  struct Oracle: Decodable {
    struct Model: Decodable {
      var `class`: String
      var parameters: Int64
      var parameterBytes: Int64
      var persistentBufferBytes: Int64
    }
    var transformers: String
    var models: [String: Model]
    /// The same fixtures with every bias switch on (`Scripts/family-oracle.py`'s
    /// `with_biases`: `attention_bias`, `mlp_bias`, and `qkv_bias` / `use_bias`
    /// where the config names them, in text_config when there is one).
    var withBiases: [String: Model]
  }

  static let folder = "Tests/ShardPlanTests/Fixtures/families"

  static let oracle: Oracle = {
    let url = URL(fileURLWithPath: Repository.path(folder + "/oracle.json"))
    // swift-format-ignore: NeverUseForceTry
    return try! JSONDecoder().decode(Oracle.self, from: Data(contentsOf: url))
  }()

  static func spec(_ name: String) throws -> ModelSpec {
    let path = Repository.path("\(folder)/\(name).config.json")
    return try HFConfigReader.read(
      Data(contentsOf: URL(fileURLWithPath: path)),
      name: name,
      source: path
    )
  }

  static let names = oracle.models.keys.sorted()

  static func modelType(_ name: String) throws -> String {
    let path = Repository.path("\(folder)/\(name).config.json")
    let json = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path)), source: path)
    return json["model_type"]?.stringValue ?? ""
  }

  /// Every family shardplan reads gets transformers' bytes and parameter count exactly.
  @Test(arguments: names)
  func weightsMatchTransformers(_ name: String) throws {
    guard ModelFamily.named(modelType: try Self.modelType(name))?.readsConfig == true else { return }
    let expected = try #require(Self.oracle.models[name])
    let spec = try Self.spec(name)
    #expect(spec.unknownArchitecture == nil, "\(name) is read as an unknown architecture")
    // Multi-token-prediction layers are in DeepSeek-V3's checkpoint, not in transformers' model.
    let mtp = spec.tensors.filter { $0.role == .multiTokenPrediction }
    let mtpBytes = mtp.reduce(0) { $0 + $1.bytes }
    let mtpParameters = mtp.reduce(0) { $0 + $1.parameters }
    #expect(spec.weightBytes - mtpBytes == expected.parameterBytes + expected.persistentBufferBytes, "\(name) bytes")
    #expect(spec.parameters - mtpParameters == expected.parameters, "\(name) parameters")
  }

  /// With every bias switch on, each family still gets transformers' bytes: which
  /// projections take a bias differs by family (Llama's `attention_bias` biases q,
  /// k, v and o; GLM-4.5's only q, k and v; Mistral's modeling code has none at all),
  /// and the published configs that turn them on (Granite code, Phi-3.5-MoE) would
  /// otherwise be off by a bias vector per layer.
  @Test(arguments: names)
  func weightsMatchTransformersWithBiasesOn(_ name: String) throws {
    guard ModelFamily.named(modelType: try Self.modelType(name))?.readsConfig == true,
      let expected = Self.oracle.withBiases[name]
    else { return }
    let path = Repository.path("\(Self.folder)/\(name).config.json")
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard case .object(var json) = try JSONValue.parse(data, source: path) else {
      throw CocoaError(.fileReadCorruptFile)
    }
    func switchedOn(_ config: [String: JSONValue]) -> [String: JSONValue] {
      var config = config
      for key in ["attention_bias", "mlp_bias", "qkv_bias", "use_bias"]
      where config[key] != nil || key == "attention_bias" || key == "mlp_bias" {
        config[key] = .bool(true)
      }
      return config
    }
    if case .object(let text) = json["text_config"] ?? .null {
      json["text_config"] = .object(switchedOn(text))
    } else {
      json = switchedOn(json)
    }
    let spec = try HFConfigReader.read(json: .object(json), text: data, name: name, source: path + " (biases on)")
    let mtpBytes = spec.tensors.filter { $0.role == .multiTokenPrediction }.reduce(0) { $0 + $1.bytes }
    #expect(spec.weightBytes - mtpBytes == expected.parameterBytes + expected.persistentBufferBytes, "\(name) bytes")
  }

  /// InternLM3's config.json names its switches `qkv_bias` and `bias` (transformers'
  /// `attribute_map` for `attention_bias` and `mlp_bias`): with both on, the bytes are
  /// the oracle's for the fixture with `attention_bias` and `mlp_bias` on.
  @Test func internLM3ReadsItsOwnBiasNames() throws {
    let path = Repository.path("\(Self.folder)/internlm3.config.json")
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard case .object(var json) = try JSONValue.parse(data, source: path) else {
      throw CocoaError(.fileReadCorruptFile)
    }
    json["attention_bias"] = nil
    json["mlp_bias"] = nil
    json["qkv_bias"] = .bool(true)
    json["bias"] = .bool(true)
    let spec = try HFConfigReader.read(json: .object(json), text: data, name: "internlm3", source: path)
    let expected = try #require(Self.oracle.withBiases["internlm3"])
    #expect(spec.weightBytes == expected.parameterBytes + expected.persistentBufferBytes)
    #expect(spec.tensors.contains { $0.name == "model.layers.0.self_attn.o_proj.bias" })
  }

  /// A fixture of a family shardplan does not read yet (MiniMax-Text-01 and M1,
  /// with lightning attention) fails closed: from config.json alone the loader refuses it,
  /// naming the model_type, rather than guess a Llama-shaped total.
  @Test(arguments: names)
  func unreadFamiliesFailClosed(_ name: String) throws {
    let type = try Self.modelType(name)
    guard ModelFamily.named(modelType: type)?.readsConfig != true else { return }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("oracle-\(name)-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try FileManager.default.copyItem(
      atPath: Repository.path("\(Self.folder)/\(name).config.json"),
      toPath: folder.appendingPathComponent("config.json").path
    )
    #expect {
      try ModelLoader(environment: [:]).load(folder.path)
    } throws: { error in
      "\(error)".contains(type)
    }
  }

  /// The fixtures cover both kinds, so neither test above passes vacuously.
  @Test func fixturesCoverReadAndUnreadFamilies() throws {
    let read = try Self.names.filter { ModelFamily.named(modelType: try Self.modelType($0))?.readsConfig == true }
    #expect(read.count >= 15)
    #expect(Self.names.count - read.count >= 1)
  }
}

/// KV cache and recurrent state of the hybrid and chunked-attention families,
/// each worked out by hand from transformers' modeling code in the comment.
@Suite("KV cache and recurrent state by family")
struct FamilyCacheTests {
  static func cache(_ name: String) throws -> (ModelSpec, KVCacheModel) {
    let spec = try FamilyOracleTests.spec(name)
    return (spec, KVCacheModel(attention: spec.attention, type: .bf16))
  }

  /// KV bytes per token over all layers in bf16, by hand: layers · kv_heads ·
  /// (d_k + d_v) · 2 bytes, or layers · (kv_lora_rank + rope_dim) · 2 for MLA.
  @Test(arguments: [
    ("cohere", Int64(1_310_720)),  // 40 · 64 · 256 · 2
    ("falcon", 8_192),  // 32 · 1 (multi-query) · 128 · 2
    ("glm4_moe", 188_416),  // 46 · 8 · 256 · 2
    ("granite", 524_288),  // 32 · 32 · 256 · 2
    ("minimax_m2", 253_952),  // 62 · 8 · 256 · 2
    ("olmo2", 524_288),  // 32 · 32 · 256 · 2
    ("phimoe", 131_072),  // 32 · 8 · 256 · 2
    ("smollm3", 73_728),  // 36 · 4 · 256 · 2
    ("starcoder2", 30_720),  // 30 · 2 · 256 · 2
    ("gpt_oss", 73_728),  // 36 · 8 · 128 · 2
    ("qwen2_5_vl", 327_680),  // 80 · 8 · 256 · 2 (the tower keeps no cache)
    ("deepseek_v2", 36_864),  // 32 · (512 + 64) · 2, MLA
    ("deepseek_v3", 70_272),  // 61 · (512 + 64) · 2, MLA
    ("kimi_k2", 70_272),  // DeepSeek-V3's MLA: 61 · (512 + 64) · 2
    ("ministral", 131_072),  // 32 · 8 · 256 · 2, every layer sliding over 4096
  ])
  func kvBytesPerToken(_ name: String, _ bytes: Int64) throws {
    #expect(try Self.cache(name).1.bytesPerToken() == bytes)
  }

  /// Gemma 2: even layers slide over 4096 tokens. At 8192 tokens, 13 layers hold
  /// 4096 and 13 hold 8192, each 4 · 512 · 2 = 4,096 bytes per token.
  @Test func gemma2Windows() throws {
    #expect(try Self.cache("gemma2").1.bytes(context: 8192, sequences: 1) == 13 * 4096 * 4096 + 13 * 8192 * 4096)
  }

  /// Qwen3-Next (the 80B-A3B shape): 48 layers, every fourth full attention.
  /// Gated DeltaNet layers (36): convolution state (2·16·128 + 32·128) · (4 − 1) =
  /// 24,576 values, recurrent state 32 value heads · 128 · 128 = 524,288 values;
  /// 548,864 values · 2 bytes = 1,097,728 bytes per layer, 39,518,208 per sequence.
  /// Full-attention layers (12): 2 KV heads · (256 + 256) · 2 bytes = 2,048 bytes
  /// per token each, 24,576 per token.
  @Test func qwen3NextHybrid() throws {
    let (spec, cache) = try Self.cache("qwen3_next")
    #expect(spec.attention.layers.filter { $0 == .full }.count == 12)
    #expect(spec.attention.layers[3] == .full && spec.attention.layers[0] == .recurrent(stateBytes: 1_097_728))
    #expect(cache.bytesPerToken() == 24_576)
    #expect(cache.stateBytesPerSequence() == 39_518_208)
    // The state does not grow with the context; the KV cache does.
    #expect(
      cache.bytes(context: 8192, sequences: 2) == 2 * (8192 * 24_576 + 39_518_208)
    )
    // Tensor parallelism splits the state by heads: each of 4 ranks holds a quarter.
    #expect(cache.stateBytesPerSequence(tensorParallel: 4) == 36 * (1_097_728 / 4))
  }

  /// Mamba (transformers' default: hidden 768, inner 1536, state 16, kernel 4,
  /// 32 layers): 1536 · 3 + 1536 · 16 = 29,184 values, 58,368 bytes per layer,
  /// 1,867,776 bytes per sequence, no KV cache at all.
  @Test func mambaState() throws {
    let (_, cache) = try Self.cache("mamba")
    #expect(cache.bytesPerToken() == 0)
    #expect(cache.stateBytesPerSequence() == 1_867_776)
    #expect(cache.bytes(context: 1_000_000, sequences: 3) == 3 * 1_867_776)
  }

  /// Mamba-2 (hidden 4096, inner 8192, 128 heads of 64, 8 groups, state 128, kernel 4,
  /// 64 layers): convolution (8192 + 2 · 8 · 128) · 3 = 30,720 values, SSM state
  /// 128 · 64 · 128 = 1,048,576 values; 2,158,592 bytes per layer, 138,149,888 per sequence.
  @Test func mamba2State() throws {
    let (_, cache) = try Self.cache("mamba2")
    #expect(cache.stateBytesPerSequence() == 138_149_888)
    #expect(cache.bytesPerToken() == 0)
  }

  /// Jamba (v0.1's shape): attention on layers 4, 12, 20, 28; Mamba on the other 28.
  /// Mamba: 8192 · 3 + 8192 · 16 = 155,648 values, 311,296 bytes per layer, 8,716,288
  /// per sequence. Attention: 8 KV heads · 128 · 2 · 2 bytes = 4,096 per token and
  /// layer, 16,384 per token.
  @Test func jambaHybrid() throws {
    let (spec, cache) = try Self.cache("jamba")
    #expect(spec.attention.layers.indices.filter { spec.attention.layers[$0] == .full } == [4, 12, 20, 28])
    #expect(cache.stateBytesPerSequence() == 8_716_288)
    #expect(cache.bytesPerToken() == 16_384)
    #expect(spec.moe?.moeLayers == Array(stride(from: 1, to: 32, by: 2)))
  }

  /// Llama 4 Scout: chunked local attention (8192 tokens) on 36 layers, full on 12
  /// (every fourth, without RoPE); 8 KV heads · 128 · 2 · 2 bytes = 4,096 bytes per
  /// token and layer. At 32,768 tokens: 36 · 8192 · 4096 + 12 · 32,768 · 4096 =
  /// 2,818,572,288 bytes per sequence, not the 6,442,450,944 of full attention everywhere.
  @Test func llama4ChunkedAttention() throws {
    let (spec, cache) = try Self.cache("llama4_text")
    #expect(spec.attention.layers.filter { $0 == .sliding(window: 8192) }.count == 36)
    #expect(cache.bytes(context: 32_768, sequences: 1) == 2_818_572_288)
    #expect(spec.moe?.routedExperts == 16 && spec.moe?.expertsPerToken == 1 && spec.moe?.sharedExperts == 1)
  }

  /// The estimate shows the state as its own term, per sequence, and counts it in
  /// the total; a plan on a card too small for the state of many sequences says so.
  @Test func estimateAndPlanCountTheState() throws {
    let spec = try FamilyOracleTests.spec("mamba2")
    let workload = Workload(mode: .inference, context: 4096, batch: 8)
    let estimate = MemoryModel.estimate(model: spec, workload: workload, weights: .stored("bf16"))
    #expect(estimate.stateBytesPerSequence == 138_149_888)
    #expect(estimate.stateBytes == 8 * 138_149_888)
    #expect(estimate.kvCacheBytes == 0)
    let withoutState = estimate.weightBytesPerGPU + estimate.activationBytes + estimate.overheadBytes
    #expect(estimate.perGPUBytes == withoutState + estimate.stateBytes)
    let report = EstimateReport(model: spec, workload: workload, estimate: estimate).tableText()
    #expect(report.contains("recurrent state") && report.contains("per sequence"))
  }
}

/// Recurrent state read from GGUF metadata alone, as llama.cpp sizes it (f32).
@Suite("Recurrent state from GGUF metadata")
struct GGUFStateTests {
  static func spec(_ label: String, _ metadata: [(String, SyntheticFiles.Meta)]) throws -> ModelSpec {
    let folder = try SyntheticFiles.folder("gguf-state-\(label)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let url = folder.appendingPathComponent("model.gguf")
    try SyntheticFiles.writeGGUF(
      url,
      metadata: metadata,
      tensors: [(name: "token_embd.weight", type: 0, dimensions: [64, 100], bytes: 64 * 100 * 4)]
    )
    return try GGUFModel.spec(path: url.path)
  }

  /// Qwen3-Next as llama.cpp's converter writes it: ssm.state_size = d_k 128,
  /// ssm.group_count = 16 key heads, ssm.inner_size = 32 · 128 = 4096 value dim,
  /// conv kernel 4, every fourth layer full attention. State per recurrent layer:
  /// 3 · (4096 + 2 · 16 · 128) + 128 · 4096 = 548,864 values, 2,195,456 bytes in f32;
  /// 6 of 8 layers recurrent: 13,172,736 bytes per sequence. KV on the 2 full
  /// layers: 2 heads · (256 + 256) · 2 bytes = 2,048 per token and layer.
  @Test func qwen3NextFromGGUF() throws {
    let spec = try Self.spec(
      "qwen3next",
      [
        ("general.architecture", .string("qwen3next")), ("qwen3next.block_count", .u32(8)),
        ("qwen3next.embedding_length", .u32(64)), ("qwen3next.attention.head_count", .u32(16)),
        ("qwen3next.attention.head_count_kv", .u32(2)), ("qwen3next.attention.key_length", .u32(256)),
        ("qwen3next.attention.value_length", .u32(256)), ("qwen3next.ssm.conv_kernel", .u32(4)),
        ("qwen3next.ssm.state_size", .u32(128)), ("qwen3next.ssm.group_count", .u32(16)),
        ("qwen3next.ssm.time_step_rank", .u32(32)), ("qwen3next.ssm.inner_size", .u32(4096)),
        ("qwen3next.full_attention_interval", .u32(4)),
      ]
    )
    let cache = KVCacheModel(attention: spec.attention, type: .f16)
    #expect(spec.unknownArchitecture == nil)
    #expect(cache.stateBytesPerSequence() == 6 * 2_195_456)
    #expect(cache.bytesPerToken() == 2 * 2048)
  }

  /// Jamba in GGUF: a per-layer head_count_kv array, 0 on the Mamba layers. Mamba
  /// (n_group 0): 3 · 8192 + 16 · 8192 = 155,648 values, 622,592 bytes in f32.
  @Test func jambaFromPerLayerHeads() throws {
    let kv: [UInt32] = [0, 0, 0, 0, 8, 0, 0, 0]
    let spec = try Self.spec(
      "jamba",
      [
        ("general.architecture", .string("jamba")), ("jamba.block_count", .u32(8)),
        ("jamba.embedding_length", .u32(64)), ("jamba.attention.head_count", .u32(32)),
        ("jamba.attention.head_count_kv", .u32s(kv)), ("jamba.attention.key_length", .u32(128)),
        ("jamba.ssm.conv_kernel", .u32(4)), ("jamba.ssm.state_size", .u32(16)),
        ("jamba.ssm.inner_size", .u32(8192)), ("jamba.ssm.time_step_rank", .u32(256)),
      ]
    )
    #expect(spec.attention.layers.filter { $0 == .full }.count == 1)
    #expect(KVCacheModel(attention: spec.attention, type: .f16).stateBytesPerSequence() == 7 * 622_592)
  }

  /// State-space keys this reader cannot size (no inner size): the weights are
  /// read, the state is refused until given.
  @Test func uninterpretableStateFailsClosed() throws {
    let spec = try Self.spec(
      "odd",
      [
        ("general.architecture", .string("oddssm")), ("oddssm.block_count", .u32(4)),
        ("oddssm.embedding_length", .u32(64)), ("oddssm.ssm.state_size", .u32(16)),
      ]
    )
    #expect(spec.unknownArchitecture == "oddssm")
    #expect(!spec.kvCacheIsKnown)
  }

  /// A BERT-family GGUF (an embedding model) is an encoder: no cache.
  @Test func bertGGUFIsAnEncoder() throws {
    let spec = try Self.spec(
      "bert",
      [
        ("general.architecture", .string("bert")), ("bert.block_count", .u32(12)),
        ("bert.embedding_length", .u32(768)), ("bert.attention.head_count", .u32(12)),
        ("bert.attention.causal", .bool(false)),
      ]
    )
    #expect(spec.isEncoder && KVCacheModel(attention: spec.attention, type: .f16).bytesPerToken() == 0)
  }

  /// No attention heads and no state-space keys at all: the cache is not guessed
  /// as zero but refused until given.
  @Test func noHeadsAndNoStateFailsClosed() throws {
    let spec = try Self.spec(
      "headless",
      [
        ("general.architecture", .string("llama")), ("llama.block_count", .u32(4)),
        ("llama.embedding_length", .u32(64)),
      ]
    )
    #expect(spec.unknownArchitecture == "llama" && !spec.kvCacheIsKnown)
  }
}

/// A config whose numbers contradict each other is refused, naming the field.
@Suite("Contradicting config numbers")
struct ContradictingConfigTests {
  static let base: [String: String] = [
    "model_type": "\"llama\"", "hidden_size": "4096", "num_hidden_layers": "4", "num_attention_heads": "32",
    "num_key_value_heads": "8", "vocab_size": "32000", "intermediate_size": "11008",
  ]

  static func read(_ changes: [String: String]) throws -> ModelSpec {
    let fields = base.merging(changes) { $1 }.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }
    return try HFConfigReader.read(
      Data("{\(fields.joined(separator: ", "))}".utf8),
      name: "test",
      source: "test/config.json"
    )
  }

  @Test(arguments: [
    (["num_key_value_heads": "12"], "num_key_value_heads"),  // 12 does not divide 32
    (["num_key_value_heads": "64"], "num_key_value_heads"),  // more KV heads than heads
    (["num_key_value_heads": "0"], "num_key_value_heads"),
    (["hidden_size": "4100"], "num_attention_heads"),  // 4100 / 32 is not whole, no head_dim
    (["vocab_size": "0"], "vocab_size"),
    (["head_dim": "0"], "head_dim"),
    (["layer_types": #"["full_attention", "sliding_attention"]"#], "layer_types"),  // 2 for 4 layers
    (
      [
        "model_type": "\"qwen3_next\"", "num_experts": "4", "num_experts_per_tok": "2",
        "layer_types": #"["linear_attention"]"#,
      ],
      "layer_types"
    ),
  ])
  func refusedNamingTheField(_ changes: [String: String], _ field: String) throws {
    #expect {
      try Self.read(changes)
    } throws: { error in
      (error as? InputError)?.field == field && "\(error)".contains("test/config.json")
    }
  }

  /// The same numbers made consistent are read: an explicit head_dim frees the
  /// hidden size from being a multiple of the heads (Gemma, Qwen3).
  @Test func consistentNumbersAreRead() throws {
    #expect(try Self.read([:]).attention.keyHeadDim == 128)
    #expect(try Self.read(["hidden_size": "4100", "head_dim": "128"]).attention.keyHeadDim == 128)
  }
}

/// Hybrids whose layers mix kinds, worked out by hand.
@Suite("Parallel and patterned hybrids")
struct HybridLayoutTests {
  /// Falcon-H1 (transformers' default: 32 layers, each attention and Mamba-2 side
  /// by side): Mamba-2 inner 1024 (128 heads of 8), 1 group, state 256, kernel 4:
  /// convolution (1024 + 2 · 256) · 3 = 4,608 values, SSM 128 · 8 · 256 = 262,144
  /// values; 533,504 bytes in bf16 per layer, 17,072,128 per sequence. KV on every
  /// layer: 8 heads · (128 + 128) · 2 bytes = 4,096 per token, 131,072 per token in all.
  @Test func falconH1HasBothOnEveryLayer() throws {
    let (spec, cache) = try FamilyCacheTests.cache("falcon_h1")
    #expect(spec.attention.layers.allSatisfy { $0 == .fullAndRecurrent(stateBytes: 533_504) })
    #expect(cache.stateBytesPerSequence() == 17_072_128)
    #expect(cache.bytesPerToken() == 131_072)
  }

  /// Nemotron-H (transformers' default pattern: Mamba, MoE, attention, MLP; SSM state
  /// in float32 as `mamba_ssm_cache_dtype` says): Mamba-2 with 128 heads of 64, 8
  /// groups, state 128: convolution (8192 + 2 · 8 · 128) · 3 = 30,720 values in bf16
  /// (61,440 bytes), SSM 128 · 64 · 128 = 1,048,576 values in f32 (4,194,304 bytes):
  /// 4,255,744 bytes per sequence. One attention layer: 8 · 256 · 2 = 4,096 per token.
  @Test func nemotronHPattern() throws {
    let (spec, cache) = try FamilyCacheTests.cache("nemotron_h")
    #expect(spec.attention.layers == [.recurrent(stateBytes: 4_255_744), .none, .full, .none])
    #expect(cache.bytesPerToken() == 4_096)
    #expect(spec.moe?.moeLayers == [1] && spec.moe?.routedExperts == 8)
  }

  /// The pattern string of real Nemotron-H configs reads the same way.
  @Test func nemotronHOverridePattern() throws {
    let json = #"""
      {"model_type":"nemotron_h","hidden_size":256,"num_hidden_layers":4,"hybrid_override_pattern":"M-M*",
       "num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100,"intermediate_size":512,
       "mamba_num_heads":8,"mamba_head_dim":32,"n_groups":1,"ssm_state_size":16,"conv_kernel":4,"torch_dtype":"bfloat16"}
      """#
    let spec = try HFConfigReader.read(Data(json.utf8), name: "t", source: "t/config.json")
    // Mamba: (256 + 2 · 16) · 3 = 864 values + 8 · 32 · 16 = 4,096 values, bf16.
    #expect(spec.attention.layers == [.recurrent(stateBytes: 9_920), .none, .recurrent(stateBytes: 9_920), .full])
    let bad = json.replacingOccurrences(of: "M-M*", with: "M-M")
    #expect(throws: InputError.self) { try HFConfigReader.read(Data(bad.utf8), name: "t", source: "t/config.json") }
  }
}

/// Vision-language models count their vision tower as weights, and say so.
@Suite("Vision towers")
struct VisionTowerTests {
  /// Qwen2.5-VL: the tower is `visual.*`, outside the decoder layers, in the note
  /// with its size; the bytes it adds are what transformers' model has beyond the
  /// language model (the oracle test holds the total to the byte).
  @Test func qwen25VLTowerIsCountedAndSaid() throws {
    let spec = try FamilyOracleTests.spec("qwen2_5_vl")
    let tower = spec.tensors.filter { $0.role == .vision }
    #expect(!tower.isEmpty && tower.allSatisfy { $0.layer == nil && $0.name.hasPrefix("visual.") })
    // 32 blocks of 3584: qkv (3 · 3584² + 3 · 3584) per block is part of it.
    #expect(tower.contains { $0.name == "visual.blocks.31.attn.qkv.weight" && $0.shape == [10_752, 3584] })
    #expect(spec.notes.contains { $0.contains("vision tower") && $0.contains("counted as weights") })
    #expect(!spec.notes.contains { $0.contains("vision tower is not") })
  }
}
