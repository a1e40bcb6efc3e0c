import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// Real checkpoints outside the bundled set: each published config.json read alone
/// must give the `total_size` its repository's `model.safetensors.index.json`
/// publishes, to the byte (`Fixtures/published/published.json` names each source).
/// These are the configs that found the bias rules: Granite code's `attention_bias`
/// puts a bias on o_proj too, which a q/k/v-only rule missed by 163,840 bytes.
@Suite("Published checkpoints")
struct PublishedCheckpointTests {
  struct Manifest: Decodable {
    struct Checkpoint: Decodable {
      var name: String
      var model: String
      var mirror: String
      var totalSize: Int64
    }
    var checkpoints: [Checkpoint]
  }

  static let folder = "Tests/ShardPlanTests/Fixtures/published"

  static let manifest: Manifest = {
    let url = URL(fileURLWithPath: Repository.path(folder + "/published.json"))
    // swift-format-ignore: NeverUseForceTry
    return try! JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
  }()

  static func spec(_ name: String) throws -> ModelSpec {
    let path = Repository.path("\(folder)/\(name).config.json")
    return try HFConfigReader.read(Data(contentsOf: URL(fileURLWithPath: path)), name: name, source: path)
  }

  static let names = manifest.checkpoints.map(\.name)

  @Test(arguments: names)
  func weightsEqualThePublishedTotal(_ name: String) throws {
    let checkpoint = try #require(Self.manifest.checkpoints.first { $0.name == name })
    let spec = try Self.spec(name)
    #expect(spec.unknownArchitecture == nil)
    #expect(spec.weightBytes == checkpoint.totalSize, "\(checkpoint.model), read at \(checkpoint.mirror)")
  }

  /// Every fixture has its manifest entry and every entry its fixture.
  @Test func manifestAndFixturesAgree() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: Repository.path(Self.folder))
      .filter { $0.hasSuffix(".config.json") }.map { String($0.dropLast(".config.json".count)) }
    #expect(Set(files) == Set(Self.names))
    #expect(Self.names.count >= 7)
  }

  /// KV bytes per token over all layers in bf16, by hand: layers · kv_heads · head_dim
  /// · 2 (keys and values) · 2 bytes.
  @Test(arguments: [
    ("medgemma-27b-it", Int64(507_904)),  // 62 · 16 · 128 · 2 · 2
    ("granite-3.1-1b-a400m-instruct", 49_152),  // 24 · 8 · (1024 / 16 = 64) · 2 · 2
    ("granite-3b-code-instruct-128k", 327_680),  // 32 · 32 · (2560 / 32 = 80) · 2 · 2
    ("phi3-3b-slerp", 393_216),  // 32 · 32 · (3072 / 32 = 96) · 2 · 2
    ("wizardlm-2-8x22b", 229_376),  // 56 · 8 · (6144 / 48 = 128) · 2 · 2
    ("cogito-v1-preview-qwen-14b", 196_608),  // 48 · 8 · (5120 / 40 = 128) · 2 · 2
    ("qwen3.5-18b-reap", 20_480),  // only the 10 full-attention layers: 10 · 2 · 256 · 2 · 2
    ("falcon-180b-chat", 163_840),  // 80 · 8 · (14848 / 232 = 64) · 2 · 2
    ("yi-1.5-6b-slerp", 65_536),  // 32 · 4 · (4096 / 32 = 128) · 2 · 2
  ])
  func kvBytesPerToken(_ name: String, _ bytes: Int64) throws {
    #expect(KVCacheModel(attention: try Self.spec(name).attention, type: .bf16).bytesPerToken() == bytes)
  }

  /// MedGemma 27B (Gemma 3): `layer_types` makes every sixth layer global, 10 of 62;
  /// the other 52 keep a 1024-token window. At 32,768 tokens, 8,192 bytes per token
  /// and layer: 10 · 32,768 · 8,192 + 52 · 1,024 · 8,192 = 3,120,562,176 bytes, not
  /// the 16,642,998,272 of full attention on every layer.
  @Test func gemma3KeepsTheWindowOnItsLocalLayers() throws {
    let cache = KVCacheModel(attention: try Self.spec("medgemma-27b-it").attention, type: .bf16)
    #expect(cache.bytes(context: 32_768, sequences: 1) == 3_120_562_176)
  }

  /// Qwen3.5-MoE: 30 Gated DeltaNet layers, each with a convolution state of
  /// (2 · 16 · 128 + 32 · 128) · (4 − 1) = 24,576 values in float16 (the weights')
  /// and a recurrent state of 32 · 128 · 128 = 524,288 values in float32, as its
  /// `mamba_ssm_dtype` asks: 49,152 + 2,097,152 = 2,146,304 bytes per layer,
  /// 64,389,120 per sequence, at any context.
  @Test func qwen35StateIsFloat32AsItsConfigAsks() throws {
    let spec = try Self.spec("qwen3.5-18b-reap")
    let cache = KVCacheModel(attention: spec.attention, type: .bf16)
    #expect(spec.attention.layers.filter { $0.stateBytes > 0 }.count == 30)
    #expect(cache.stateBytesPerSequence() == 64_389_120)
    #expect(spec.notes.contains { $0.contains("mamba_ssm_dtype") })
    #expect(spec.moe?.routedExperts == 128 && spec.moe?.expertsPerToken == 8 && spec.moe?.sharedExperts == 1)
  }
}
