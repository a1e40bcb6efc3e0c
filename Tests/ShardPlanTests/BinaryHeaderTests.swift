import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

@Suite("safetensors and GGUF headers")
struct BinaryHeaderTests {
  @Test func safetensorsHeaderGivesExactBytes() throws {
    let folder = try SyntheticFiles.folder("st")
    let url = folder.appendingPathComponent("model.safetensors")
    let dataBytes = try SyntheticFiles.writeSafetensors(
      url,
      tensors: [
        ("model.embed_tokens.weight", "BF16", [32, 16]),
        ("model.layers.0.self_attn.q_proj.weight", "F8_E4M3", [16, 16]),
        ("model.layers.0.self_attn.q_proj.weight_scale_inv", "F32", [1, 1]), ("lm_head.weight", "BF16", [32, 16]),
      ]
    )
    let entries = try SafetensorsReader.readHeader(path: url.path)
    #expect(entries.reduce(0) { $0 + $1.bytes } == Int64(dataBytes))
    #expect(entries.first { $0.name == "model.layers.0.self_attn.q_proj.weight" }?.bytes == 256)
  }

  func headerError(_ json: String, dataBytes: Int = 0) throws -> InputError? {
    let folder = try SyntheticFiles.folder("st-bad")
    let url = folder.appendingPathComponent("bad.safetensors")
    var data = Data()
    var length = UInt64(json.utf8.count).littleEndian
    withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
    data.append(contentsOf: Array(json.utf8))
    data.append(Data(count: dataBytes))
    try data.write(to: url)
    do {
      _ = try SafetensorsReader.readHeader(path: url.path)
      return nil
    } catch let error as InputError {
      return error
    }
  }

  @Test func safetensorsHeadersThatLie() throws {
    // Offsets beyond the file.
    let beyond = try #require(
      try headerError(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, dataBytes: 8)
    )
    #expect(beyond.description.contains("data section has 8 bytes"))
    // Length that disagrees with the shape.
    let wrong = try #require(
      try headerError(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}"#, dataBytes: 16)
    )
    #expect(wrong.field == "a")
    // Overlapping tensors.
    let overlap = try #require(
      try headerError(
        #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
        dataBytes: 24
      )
    )
    #expect(overlap.description.contains("overlaps"))
    // Unknown dtype, negative dimension, not JSON.
    #expect(try headerError(#"{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}"#, dataBytes: 1) != nil)
    #expect(try headerError(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4) != nil)
    #expect(try headerError("not json at all", dataBytes: 0) != nil)
  }

  @Test func safetensorsHeaderLengthBeyondTheFile() throws {
    let folder = try SyntheticFiles.folder("st-len")
    let url = folder.appendingPathComponent("huge.safetensors")
    var data = Data()
    var length = UInt64(90_000_000).littleEndian
    withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
    data.append(contentsOf: Array("{}".utf8))
    try data.write(to: url)
    #expect(throws: InputError.self) { _ = try SafetensorsReader.readHeader(path: url.path) }
    var giant = Data()
    var giantLength = UInt64.max.littleEndian
    withUnsafeBytes(of: &giantLength) { giant.append(contentsOf: $0) }
    try giant.write(to: url)
    #expect(throws: InputError.self) { _ = try SafetensorsReader.readHeader(path: url.path) }
  }

  static func llamaGGUF(_ url: URL, type: UInt32 = 12) throws -> (dataStart: Int, dataBytes: Int) {
    try SyntheticFiles.tinyLlamaGGUF(url, type: type)
  }

  @Test func ggufWeightBytesEqualTheTensorData() throws {
    let folder = try SyntheticFiles.folder("gguf")
    let url = folder.appendingPathComponent("tiny.gguf")
    let (dataStart, dataBytes) = try Self.llamaGGUF(url)
    let header = try GGUFReader.read(path: url.path)
    #expect(header.dataStart == UInt64(dataStart))
    #expect(header.dataBytes == UInt64(dataBytes))
    let spec = try GGUFModel.spec(header: header, name: "tiny", source: url.path)
    // Every tensor here is a multiple of 32 bytes, so there is no padding: exact equality.
    #expect(spec.weightBytes == Int64(dataBytes))
    #expect(spec.layers == 2 && spec.attention.kvHeads == 1 && spec.vocabularySize == 512)
    #expect(spec.attention.keyHeadDim == 64)
    #expect(spec.layerBytes.count == 2)
    #expect(spec.tensors.first { $0.name == "output.weight" }?.role == .head)
  }

  func ggufError(_ mutate: (inout Data) -> Void) throws -> InputError? {
    let folder = try SyntheticFiles.folder("gguf-bad")
    let url = folder.appendingPathComponent("tiny.gguf")
    _ = try Self.llamaGGUF(url)
    var data = try Data(contentsOf: url)
    mutate(&data)
    try data.write(to: url)
    do {
      _ = try GGUFReader.read(path: url.path)
      return nil
    } catch let error as InputError {
      return error
    }
  }

  @Test func ggufHeadersThatLie() throws {
    // Truncated in the tensor data.
    let truncated = try #require(try ggufError { $0 = $0.prefix($0.count - 1000) })
    #expect(truncated.description.contains("truncated") || truncated.description.contains("data"))
    // Tensor count far beyond the file.
    let count = try #require(
      try ggufError { data in data.replaceSubrange(8..<16, with: [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]) }
    )
    #expect(count.description.contains("tensor count"))
    // Metadata key length of 2^40.
    let giant = try #require(try ggufError { data in data.replaceSubrange(24..<32, with: [0, 0, 0, 0, 0, 1, 0, 0]) })
    #expect(giant.field?.hasPrefix("byte") == true)
    // Wrong magic and version 1.
    #expect(try ggufError { $0[0] = 0x47 + 1 }?.description.contains("not a GGUF") == true)
    #expect(try ggufError { $0[4] = 1 }?.code == .unsupportedVersion)
  }
}

@Suite("Model sources on disk")
struct ModelSourceTests {
  /// A Hugging Face cache laid out as huggingface_hub writes it.
  @Test func modelsResolveFromTheHuggingFaceCache() throws {
    let root = try SyntheticFiles.folder("hf-cache")
    let repo = root.appendingPathComponent("hub/models--acme--tiny")
    let snapshot = repo.appendingPathComponent("snapshots/0123abcd")
    try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
    try "0123abcd".write(to: repo.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
    let config = """
      {"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
       "num_key_value_heads":2,"vocab_size":128,"torch_dtype":"bfloat16"}
      """
    try config.write(to: snapshot.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    // HF_HOME/hub, and HF_HUB_CACHE pointing at the same folder, both find it.
    let viaHome = try ModelLoader(environment: ["HF_HOME": root.path]).load("acme/tiny")
    let viaCache = try ModelLoader(environment: ["HF_HUB_CACHE": root.appendingPathComponent("hub").path]).load(
      "acme/tiny"
    )
    #expect(viaHome.weightBytes == viaCache.weightBytes)
    #expect(viaHome.layers == 2)
    // A safetensors file in the snapshot replaces the config-derived tensor list.
    let tensors = viaHome.tensors.map { (name: $0.name, dtype: "BF16", shape: $0.shape.map { Int($0) }) }
    let bytes = try SyntheticFiles.writeSafetensors(
      snapshot.appendingPathComponent("model.safetensors"),
      tensors: tensors
    )
    let withHeaders = try ModelLoader(environment: ["HF_HOME": root.path]).load("acme/tiny")
    #expect(withHeaders.tensorSource == .safetensors(origin: nil))
    #expect(withHeaders.weightBytes == Int64(bytes))
    #expect(withHeaders.parameters == viaHome.parameters)
  }

  @Test func unknownModelsGetAnErrorThatSaysWhatWasTried() {
    do {
      _ = try ModelLoader(environment: ["HF_HUB_CACHE": "/nonexistent"]).load("nobody/nothing")
      Issue.record("expected an error")
    } catch let error as InputError {
      #expect(error.description.contains("not a bundled model and not in the Hugging Face cache"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func configErrorsNameTheMissingKey() throws {
    let data = Data(#"{"model_type":"llama","hidden_size":64,"num_attention_heads":4,"vocab_size":10}"#.utf8)
    do {
      _ = try HFConfigReader.read(data, name: "x", source: "x/config.json")
      Issue.record("expected an error")
    } catch let error as InputError {
      #expect(error.field == "num_hidden_layers")
      #expect(error.source == "x/config.json")
    }
    let unknown = Data(#"{"model_type":"mystery","hidden_size":64}"#.utf8)
    #expect(throws: InputError.self) { _ = try HFConfigReader.read(unknown, name: "x", source: "c.json") }
    let generic = Data(
      #"{"model_type":"mystery","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10}"#.utf8
    )
    let spec = try HFConfigReader.read(generic, name: "x", source: "c.json")
    #expect(spec.notes.contains { $0.contains("not a known family") })
    #expect(spec.unknownArchitecture == "mystery")
    let absurd = Data(
      #"{"model_type":"llama","hidden_size":-5,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10}"#.utf8
    )
    #expect(throws: InputError.self) { _ = try HFConfigReader.read(absurd, name: "x", source: "c.json") }
    #expect(throws: InputError.self) {
      _ = try HFConfigReader.read(Data("{not json".utf8), name: "x", source: "c.json")
    }
  }

  @Test func embeddedModelCatalogMatchesTheFiles() throws {
    for id in BundledModels.ids {
      let file = id.replacingOccurrences(of: "/", with: "__")
      let onDisk = try Repository.text("Models/\(file).config.json")
      let embedded = try #require(BundledModels.config(for: id)?.json)
      #expect(
        embedded.trimmingWhitespace()
          == onDisk.textLines().map { $0.trimmingWhitespaceAtEnd() }.joined(separator: "\n")
          .trimmingWhitespace(),
        "\(id): run Scripts/embed-models.sh"
      )
    }
    #expect(BundledModels.ids.count == 16)
  }
}
