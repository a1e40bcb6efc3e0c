import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// GGUF files written by llama.cpp's own writer (`gguf` from PyPI, through
/// `Scripts/make-gguf-fixtures.py`) with real models' shapes and quant mixes. The
/// repository keeps each header; the test extends it to the full size with
/// ftruncate, so the tensor data is a sparse hole, and compares shardplan's reader
/// with what `gguf.GGUFReader` reported for the same file (`expected.json`).
@Suite("GGUF files from llama.cpp's writer")
struct GGUFWriterFixtureTests {
  struct Expected: Decodable {
    struct Fixture: Decodable {
      var fileBytes: Int64
      var headerBytes: Int
      var tensors: Int
      var tensorBytes: Int64
      var typeCounts: [String: Int]
    }
    var fixtures: [String: Fixture]
  }

  static let folder = "Tests/ShardPlanTests/Fixtures/gguf"

  static let expected: Expected = {
    let url = URL(fileURLWithPath: Repository.path(folder + "/expected.json"))
    // swift-format-ignore: NeverUseForceTry
    return try! JSONDecoder().decode(Expected.self, from: Data(contentsOf: url))
  }()

  /// The fixture as a whole sparse file, read by shardplan.
  static func spec(_ name: String) throws -> ModelSpec {
    let fixture = try #require(expected.fixtures[name])
    let folder = try SyntheticFiles.folder("gguf-writer-\(name)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("\(name).gguf").path
    try FileManager.default.copyItem(atPath: Repository.path("\(Self.folder)/\(name).gguf-header"), toPath: path)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: UInt64(fixture.fileBytes))
    try handle.close()
    return try GGUFModel.spec(path: path)
  }

  @Test(arguments: expected.fixtures.keys.sorted())
  func weightsEqualTheFilesTensorData(_ name: String) throws {
    let fixture = try #require(Self.expected.fixtures[name])
    let spec = try Self.spec(name)
    #expect(spec.tensors.count == fixture.tensors)
    #expect(spec.weightBytes == fixture.tensorBytes)
    var types: [String: Int] = [:]
    for tensor in spec.tensors { types[tensor.storage.description, default: 0] += 1 }
    #expect(types == fixture.typeCounts)
  }

  /// Llama-3.1-8B Q4_K_M: 32 layers, 8 KV heads of 128, f16 cache: 8 · 256 · 2 =
  /// 4,096 bytes per token and layer, 131,072 per token. The tensor data
  /// (4,912,898,048 bytes) is what the published 4.92 GB file holds besides its
  /// tokenizer, and what shardplan's own Q4_K_M preset makes of the model's config.json.
  @Test func llamaQ4KMMatchesThePresetFromConfig() throws {
    let spec = try Self.spec("llama-3.1-8b-q4_k_m")
    #expect(KVCacheModel(attention: spec.attention, type: .f16).bytesPerToken() == 131_072)
    let config = try HFConfigReader.read(
      Data(contentsOf: URL(fileURLWithPath: Repository.path("Models/meta-llama__Llama-3.1-8B.config.json"))),
      name: "Llama-3.1-8B",
      source: "config.json"
    )
    let preset = config.converted(to: .gguf(.q4_k_m))
    #expect(preset.weightBytes == spec.weightBytes)
  }

  /// Qwen3-30B-A3B Q4_K_M: 128 experts, 8 used, on all 48 layers.
  @Test func qwen3MoEExperts() throws {
    let spec = try Self.spec("qwen3-30b-a3b-q4_k_m")
    #expect(spec.moe?.routedExperts == 128 && spec.moe?.expertsPerToken == 8 && spec.moe?.moeLayers.count == 48)
  }

  /// Gemma 3 4B: every sixth layer global, the other 29 slide over 1024 tokens;
  /// 4 KV heads of 256: 4 · 512 · 2 = 4,096 bytes per token and layer.
  @Test func gemma3Windows() throws {
    let spec = try Self.spec("gemma-3-4b-q4_0")
    #expect(spec.attention.layers.filter { $0 == .full }.count == 5)
    #expect(spec.attention.layers.filter { $0 == .sliding(window: 1024) }.count == 29)
    #expect(spec.tiedEmbeddings)
    let cache = KVCacheModel(attention: spec.attention, type: .f16)
    #expect(cache.bytes(context: 32_768, sequences: 1) == 5 * 32_768 * 4096 + 29 * 1024 * 4096)
  }

  /// Mamba-2.8B: no KV cache; llama.cpp's f32 state of (4 − 1) · 5120 + 16 · 5120 =
  /// 97,280 values, 389,120 bytes per layer, 24,903,680 per sequence over 64 layers.
  @Test func mambaState() throws {
    let cache = KVCacheModel(attention: try Self.spec("mamba-2.8b-f16").attention, type: .f16)
    #expect(cache.bytesPerToken() == 0)
    #expect(cache.stateBytesPerSequence() == 24_903_680)
  }
}
