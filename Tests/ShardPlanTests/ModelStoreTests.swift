import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// Model stores users already have on disk, each laid out in a temporary HOME as
/// the tool lays it out, with a GGUF file written by llama.cpp's writer (the
/// Llama-3.1-8B Q4_K_M fixture, as a sparse file).
@Suite("Model stores on disk")
struct ModelStoreTests {
  static let llama = "llama-3.1-8b-q4_k_m"

  /// A sparse copy of the writer fixture at `path`.
  static func writeGGUF(_ path: String) throws {
    let fixture = try #require(GGUFWriterFixtureTests.expected.fixtures[llama])
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent,
      withIntermediateDirectories: true
    )
    try FileManager.default.copyItem(
      atPath: Repository.path("\(GGUFWriterFixtureTests.folder)/\(llama).gguf-header"),
      toPath: path
    )
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: UInt64(fixture.fileBytes))
    try handle.close()
  }

  static var llamaBytes: Int64 { GGUFWriterFixtureTests.expected.fixtures[llama]?.tensorBytes ?? -1 }

  static func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent,
      withIntermediateDirectories: true
    )
    try text.write(toFile: path, atomically: true, encoding: .utf8)
  }

  static func manifest(digest: String) -> String {
    #"""
    {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
     "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:\#(String(repeating: "0", count: 64))","size":485},
     "layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"\#(digest)","size":4920734016},
               {"mediaType":"application/vnd.ollama.image.license","digest":"sha256:\#(String(repeating: "1", count: 64))","size":12321}]}
    """#
  }

  static let digest = String(repeating: "ab", count: 32)

  /// `ollama pull llama3.1:8b-instruct-q4_K_M` leaves a manifest and a blob.
  @Test func ollamaNameResolvesThroughItsManifest() throws {
    let home = try SyntheticFiles.folder("store-ollama")
    defer { try? FileManager.default.removeItem(at: home) }
    let store = home.path + "/.ollama/models"
    try Self.write(
      Self.manifest(digest: "sha256:\(Self.digest)"),
      to: store + "/manifests/registry.ollama.ai/library/llama3.1/8b-instruct-q4_K_M"
    )
    try Self.write(
      Self.manifest(digest: "sha256:\(Self.digest)"),
      to: store + "/manifests/registry.ollama.ai/library/llama3.1/latest"
    )
    try Self.writeGGUF(store + "/blobs/sha256-\(Self.digest)")
    let loader = ModelLoader(environment: ["HOME": home.path, "HF_HUB_OFFLINE": "1"])
    let spec = try loader.load("llama3.1:8b-instruct-q4_K_M")
    #expect(spec.weightBytes == Self.llamaBytes && spec.tensorSource == .gguf)
    #expect(spec.notes.contains { $0.contains("Ollama") })
    #expect(try loader.load("ollama:llama3.1").weightBytes == Self.llamaBytes)
    // OLLAMA_MODELS names the store instead of ~/.ollama/models.
    let moved = ModelLoader(environment: ["HOME": "/nonexistent", "OLLAMA_MODELS": store, "HF_HUB_OFFLINE": "1"])
    #expect(try moved.load("llama3.1:8b-instruct-q4_K_M").weightBytes == Self.llamaBytes)
    // A name Ollama does not have, asked for explicitly, is an error naming the store.
    #expect {
      try loader.load("ollama:qwen3:32b")
    } throws: { "\($0)".contains("no Ollama manifest") }
  }

  /// A manifest whose digest is not a sha256, or whose blob links outside the
  /// store, is refused and never followed.
  @Test func manifestsPointingOutsideTheStoreAreRefused() throws {
    let home = try SyntheticFiles.folder("store-ollama-hostile")
    defer { try? FileManager.default.removeItem(at: home) }
    let store = home.path + "/.ollama/models"
    let manifests = store + "/manifests/registry.ollama.ai/library/"
    try Self.write(Self.manifest(digest: "sha256:../../../../etc/passwd"), to: manifests + "evil/latest")
    try Self.write(Self.manifest(digest: "sha256:\(Self.digest)"), to: manifests + "linked/latest")
    try Self.writeGGUF(home.path + "/elsewhere.gguf")
    try FileManager.default.createDirectory(atPath: store + "/blobs", withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: store + "/blobs/sha256-\(Self.digest)",
      withDestinationPath: home.path + "/elsewhere.gguf"
    )
    let loader = ModelLoader(environment: ["HOME": home.path, "HF_HUB_OFFLINE": "1"])
    #expect {
      try loader.load("evil:latest")
    } throws: { ($0 as? InputError)?.field == "layers[].digest" && "\($0)".contains("not a sha256 digest") }
    #expect {
      try loader.load("linked:latest")
    } throws: { "\($0)".contains("outside the store's blobs folder") }
  }

  /// LM Studio keeps `PUBLISHER/REPOSITORY/FILE.gguf`; a Hub-style id finds it when
  /// the HF cache does not have it, the vision projector is not taken for the model,
  /// and a repository of several quants asks for the file.
  @Test func lmStudioFolders() throws {
    let home = try SyntheticFiles.folder("store-lmstudio")
    defer { try? FileManager.default.removeItem(at: home) }
    let repository = home.path + "/.lmstudio/models/lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF"
    try Self.writeGGUF(repository + "/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    try Self.write("not a model", to: repository + "/mmproj-model-f16.gguf")
    let loader = ModelLoader(environment: ["HOME": home.path, "HF_HUB_OFFLINE": "1"])
    #expect(try loader.load("lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF").weightBytes == Self.llamaBytes)
    try Self.writeGGUF(repository + "/Meta-Llama-3.1-8B-Instruct-Q8_0.gguf")
    #expect {
      try loader.load("lmstudio:lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF")
    } throws: { "\($0)".contains("Name the file") && "\($0)".contains("Q8_0.gguf") }
    let named = "lmstudio:lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"
    #expect(try loader.load(named).weightBytes == Self.llamaBytes)
    #expect(try LMStudioStore(environment: ["HOME": home.path]).file(for: "lmstudio:../../etc/x") == nil)
  }

  /// The HF cache at a revision: refs/main and refs/v2 name two commits, whose
  /// snapshots hold different configs; a commit prefix names a snapshot too; a
  /// revision the cache lacks is an error, never another snapshot.
  @Test func huggingFaceCacheRevisions() throws {
    let cache = try SyntheticFiles.folder("store-hf-revisions")
    defer { try? FileManager.default.removeItem(at: cache) }
    let repo = cache.path + "/models--org--tiny"
    let main = String(repeating: "a", count: 40)
    let v2 = String(repeating: "b", count: 40)
    try Self.write(main, to: repo + "/refs/main")
    try Self.write(v2 + "\n", to: repo + "/refs/v2")
    func config(layers: Int) -> String {
      #"{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":\#(layers),"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100,"torch_dtype":"bfloat16"}"#
    }
    try Self.write(config(layers: 2), to: repo + "/snapshots/\(main)/config.json")
    try Self.write(config(layers: 3), to: repo + "/snapshots/\(v2)/config.json")
    let environment = ["HF_HUB_CACHE": cache.path, "HF_HUB_OFFLINE": "1"]
    #expect(try ModelLoader(environment: environment).load("org/tiny").layers == 2)
    #expect(try ModelLoader(environment: environment, revision: "v2").load("org/tiny").layers == 3)
    #expect(try ModelLoader(environment: environment, revision: "bbbbbbb").load("org/tiny").layers == 3)
    #expect {
      try ModelLoader(environment: environment, revision: "v3").load("org/tiny")
    } throws: { ($0 as? InputError)?.field == "--revision" && "\($0)".contains("not at revision 'v3'") }
  }

  /// The token huggingface_hub saved: HF_TOKEN first, then HF_TOKEN_PATH, then HF_HOME/token.
  @Test func huggingFaceToken() throws {
    let home = try SyntheticFiles.folder("store-hf-token")
    defer { try? FileManager.default.removeItem(at: home) }
    try Self.write("hf_saved\n", to: home.path + "/token")
    try Self.write("hf_elsewhere", to: home.path + "/other")
    #expect(HuggingFaceCache(environment: ["HF_HOME": home.path]).token == "hf_saved")
    #expect(
      HuggingFaceCache(environment: ["HF_HOME": home.path, "HF_TOKEN_PATH": home.path + "/other"]).token
        == "hf_elsewhere"
    )
    #expect(HuggingFaceCache(environment: ["HF_HOME": home.path, "HF_TOKEN": "hf_env"]).token == "hf_env")
    #expect(HuggingFaceCache(environment: ["HOME": home.path + "/none"]).token == nil)
  }
}
