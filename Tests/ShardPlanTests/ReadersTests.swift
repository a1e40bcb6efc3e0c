import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

@Suite("Units and PCI bus ids")
struct UnitsTests {
  @Test(arguments: [
    ("96 GiB", Int64(96) << 30), ("97887 MiB", Int64(97_887) << 20), ("80GB", Int64(80_000_000_000)),
    ("1_024", Int64(1024)), ("2 TiB", Int64(2) << 40),
  ])
  func sizes(_ text: String, _ bytes: Int64) {
    #expect(Units.parseBytes(text) == bytes)
  }

  @Test(arguments: [
    ("400 Gb/s", Int64(50_000_000_000)), ("50 GB/s", Int64(50_000_000_000)), ("400 Gbps", Int64(50_000_000_000)),
    ("26.562 GB/s", Int64(26_562_000_000)), ("14.062 GB/s", Int64(14_062_000_000)),
  ])
  func rates(_ text: String, _ bytesPerSecond: Int64) {
    #expect(Units.parseBytesPerSecond(text) == bytesPerSecond)
  }

  @Test func rejectsNonsense() {
    #expect(Units.parseBytes("-3 GiB") == nil)
    #expect(Units.parseBytes("12 parsecs") == nil)
    #expect(Units.parseBytesPerSecond("50 GB") == nil)
    #expect(Units.parseBytes("1e400 GiB") == nil)
    // A bare rate beyond an Int64 (the fuzzer's Regressions/crash-b65705d5…) is refused, not a crash.
    #expect(Units.parseBytesPerSecond("1" + String(repeating: "0", count: 40)) == nil)
    #expect(Units.parseBytesPerSecond("9000") == 9000)
    #expect(Units.formatDecimal(1e30, places: 1) == "1e+30")
    #expect(Units.formatDecimal(.infinity, places: 0) == "inf")
  }

  @Test func busIdsFromEveryToolAgree() throws {
    let smi = try #require(PCIBusID("00000000:2A:00.0"))
    let hwloc = try #require(PCIBusID("0000:2a:00.0"))
    let lspci = try #require(PCIBusID("2a:00.0"))
    #expect(smi == hwloc && hwloc == lspci)
    #expect(smi.description == "0000:2a:00.0")
    #expect(PCIBusID("fffffff:ffff:ff") == nil)
    #expect(PCIBusID("0000:2a:40.0") == nil)  // device numbers stop at 31
  }

  @Test func pcieRatesFollowTheEncoding() {
    // Gen3 x16 is hwloc's 15.753846 GB/s; Gen4 x16 twice that.
    #expect(PCIeRates.bytesPerSecond(generation: 3, lanes: 16) == 15_753_846_160)
    #expect(PCIeRates.bytesPerSecond(generation: 4, lanes: 16) == 31_507_692_304)
  }

  @Test func cpuMasks() {
    #expect(CPUList.fromHexMask("00000000,0000ffff,ffffffff") == "0-47")
    #expect(CPUList.count("0-27,56-83") == 56)
  }
}

@Suite("Bad input")
struct BadInputTests {
  func error(_ text: String) -> InputError? {
    do {
      _ = try NvidiaSmiText.read(text, source: "t.txt")
      return nil
    } catch let error as InputError {
      return error
    } catch {
      return nil
    }
  }

  @Test func truncatedMatrix() throws {
    let text = "\tGPU0\tGPU1\tGPU2\tCPU Affinity\nGPU0\t X \tNV4\tPHB\t0-7\nGPU1\tNV4\t X \tPHB\t0-7\n"
    let error = try #require(self.error(text))
    #expect(error.description.contains("no row for GPU2"))
    #expect(error.source == "t.txt")
    #expect(error.line == 4)
  }

  @Test func rowsAndColumnsDisagree() throws {
    let text = "\tGPU0\tGPU1\nGPU0\t X \tNV4\tPHB\nGPU1\tNV4\t X\n"
    let error = try #require(self.error(text))
    #expect(error.line == 3 || error.line == 2)
    #expect(error.description.contains("link cells"))
  }

  @Test func unknownLegendCode() throws {
    let text = "\tGPU0\tGPU1\nGPU0\t X \tNVX9\nGPU1\tNVX9\t X \n"
    let error = try #require(self.error(text))
    #expect(error.line == 2)
    #expect(error.description.contains("unknown link code 'NVX9'"))
  }

  @Test func asymmetricMatrix() throws {
    let text = "\tGPU0\tGPU1\nGPU0\t X \tNV4\nGPU1\tPHB\t X \n"
    let error = try #require(self.error(text))
    #expect(error.description.contains("symmetric"))
  }

  @Test func csvRowsThatDoNotMatchTheHeader() throws {
    let text = "index, name, memory.total [MiB]\n0, NVIDIA H100 80GB HBM3\n"
    let error = try #require(self.error(text))
    #expect(error.line == 2)
    #expect(error.description.contains("2 values but the header has 3 fields"))
  }

  @Test func csvValueOfTheWrongShape() throws {
    let text = "index, name, memory.total [MiB]\n0, NVIDIA H100 80GB HBM3, lots\n"
    let error = try #require(self.error(text))
    #expect(error.field == "memory.total")
  }

  @Test func unrecognisedText() throws {
    let error = try #require(self.error("hello\nworld\n"))
    #expect(error.code == .unrecognized)
  }

  @Test func csvMemoryBecomesExactBytes() throws {
    let facts = try NvidiaSmiText.read(
      "memory.total [MiB], pci.bus_id, index\n81559 MiB, 00000000:18:00.0, 0\n[N/A], 00000000:2A:00.0, 1\n",
      source: "q.csv"
    )
    #expect(facts.gpus[0].memoryTotalBytes == Int64(81_559) * 1_048_576)
    #expect(facts.gpus[1].memoryTotalBytes == nil)
    #expect(facts.gpus[1].pciBusId?.description == "0000:2a:00.0")
  }

  @Test func headerlessCSVNeedsTheFieldList() throws {
    let facts = try NvidiaSmiText.read(
      "0, NVIDIA A100-SXM4-80GB, 81920\n1, NVIDIA A100-SXM4-80GB, 81920\n",
      source: "q.csv",
      queryFields: ["index", "name", "memory.total"]
    )
    #expect(facts.gpus.count == 2)
    #expect(facts.gpus[1].memoryTotalBytes == Int64(81_920) * 1_048_576)
  }

  @Test func hostileXMLIsRejectedQuickly() {
    let deep = String(repeating: "<a>", count: 10_000)
    #expect(throws: InputError.self) { try XMLTree.parse(deep, source: "deep.xml") }
    #expect(throws: InputError.self) { try XMLTree.parse("<gpu id=\"1>", source: "x.xml") }
    #expect(throws: InputError.self) { try XMLTree.parse("<a>&bogus;</a>", source: "x.xml") }
    #expect(throws: InputError.self) { try NvidiaSmiXML.read("<nvidia_smi_log></nvidia_smi_log>", source: "x.xml") }
  }
}

@Suite("Merging sources")
struct MergeTests {
  @Test func conflictsAreReportedNotDropped() throws {
    let csv = try NvidiaSmiText.read(
      "index, name, pci.bus_id, memory.total [MiB]\n0, NVIDIA H100 80GB HBM3, 00000000:18:00.0, 81559 MiB\n",
      source: "a.csv"
    )
    let other = try NvidiaSmiText.read(
      "index, name, pci.bus_id, memory.total [MiB]\n0, NVIDIA H100 80GB HBM3, 00000000:18:00.0, 81920 MiB\n",
      source: "b.csv"
    )
    let merged = FactsMerger.merge([csv, other])
    #expect(merged.gpus.count == 1)
    #expect(merged.gpus[0].memoryTotalBytes == Int64(81_559) * 1_048_576)
    let conflict = try #require(merged.conflicts.first)
    #expect(conflict.subject == "GPU 0 total memory")
    #expect(conflict.kept.contains("81559 MiB") && conflict.kept.contains("a.csv"))
    #expect(conflict.ignored.contains("81920 MiB") && conflict.ignored.contains("b.csv"))
  }

  @Test func topoMatrixAndCSVJoinByIndex() throws {
    let topo = try NvidiaSmiText.read("\tGPU0\tGPU1\nGPU0\t X \tNV4\nGPU1\tNV4\t X \n", source: "topo.txt")
    let csv = try NvidiaSmiText.read(
      "index, name\n0, NVIDIA GeForce RTX 3090\n1, NVIDIA GeForce RTX 3090\n",
      source: "q.csv"
    )
    let graph = DeviceGraphBuilder.build(name: "t", hosts: [HostInput(facts: FactsMerger.merge([topo, csv]))])
    // GA102 bridge: 4 links × 14.0625 GB/s.
    #expect(graph.link(0, 1)?.bandwidthBytesPerSecond == 56_250_000_000)
    #expect(graph.link(0, 1)?.kind == .nvlink)
  }
}

/// JSON read as Python's json module reads it (transformers' own reading): the
/// last of a repeated key wins, Infinity and NaN are numbers, integers exact to
/// 64 bits, nesting bounded, errors at their line.
@Suite("JSON as Python reads it")
struct JSONReadingTests {
  func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8), source: "t.json") }

  @Test func pythonSemantics() throws {
    #expect(try parse(#"{"a": 1, "a": 3}"#)["a"]?.intValue == 3)
    #expect(
      try parse("[0.0, Infinity, -Infinity]").arrayValue?.compactMap(\.doubleValue) == [0, .infinity, -.infinity]
    )
    #expect(try parse("NaN").doubleValue?.isNaN == true)
    #expect(try parse("9223372036854775807").intValue == .max)
    #expect(try parse("99999999999999999999").intValue == nil)
    #expect(try parse(#""\u00e9\ud83d\ude00\n""#).stringValue == "é😀\n")
    #expect(try parse(" {\"x\": [true, false, null]} ")["x"]?.arrayValue?.count == 3)
  }

  @Test func badJSONSaysWhere() throws {
    for (text, line) in [
      ("{\n\"a\": 1,\n}", 3), ("[1, 2", 1), ("{\"a\" 1}", 1), ("\"\u{1}\"", 1), ("1.", 1), ("[] x", 1),
    ] {
      #expect(
        performing: { _ = try parse(text) },
        throws: { error in
          (error as? InputError)?.line == line && (error as? InputError)?.source == "t.json"
        }
      )
    }
    let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
    #expect(
      performing: { _ = try parse(deep) },
      throws: { error in
        (error as? InputError)?.message.contains("512 levels") == true
      }
    )
  }
}
