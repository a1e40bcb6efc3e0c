import Foundation

/// What the libFuzzer drivers in `Fuzz/` feed the readers, and what the fuzz
/// regression tests replay: every reader of untrusted input on one input. A
/// reader may refuse the input with an ``InputError``; it must never crash, hang
/// or grow without bound.
///
/// System programming interface for the fuzzers (`@_spi(Fuzzing) import
/// ShardPlan`), not part of the documented library.
@_spi(Fuzzing) public enum FuzzEntryPoints {
  /// The bytes as a GGUF file and as a safetensors file (the file at `path`
  /// holds them, for the readers that read files).
  public static func modelHeaders(_ bytes: Data, path: String) {
    if let header = try? GGUFReader.read(path: path) {
      _ = try? GGUFModel.spec(header: header, name: "fuzz", source: path)
    }
    _ = try? SafetensorsReader.readHeader(path: path)
    if bytes.count >= 8 {
      _ = try? SafetensorsReader.parseHeader(bytes.dropFirst(8), dataBytes: Int64(bytes.count), source: "fuzz")
    }
  }

  /// The text as every text reader reads it: nvidia-smi text, CSV and XML, NCCL
  /// XML, topology and layout files, and the device graph built from what reads.
  public static func topologyText(_ text: String, source: String = "fuzz") {
    _ = try? NvidiaSmiText.read(text, source: source)
    _ = try? NvidiaSmiText.read(text, source: source, queryFields: ["index", "name", "memory.total"])
    _ = try? NvidiaSmiXML.read(text, source: source)
    _ = try? NCCLTopologyXML.read(text, source: source)
    _ = Layout.read(text, source: source)
    if let contents = try? TopologyFile.read(text, source: source) {
      _ = DeviceGraphBuilder.build(name: source, hosts: contents.hosts)
    }
    if let facts = try? NvidiaSmiText.read(text, source: source) {
      let graph = DeviceGraphBuilder.build(name: source, hosts: [HostInput(facts: facts)])
      _ = graph.tableText()
      _ = graph.fastIslands()
    }
  }
}
