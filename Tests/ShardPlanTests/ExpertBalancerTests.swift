import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

@Suite("Expert balancing (EPLB)")
struct ExpertBalancerTests {
  /// DeepSeek EPLB's README example: 2 layers × 12 experts, 16 replicas,
  /// 4 groups, 2 nodes, 8 GPUs (Tests/ShardPlanTests/Fixtures/eplb_readme_example.json).
  @Test func reproducesTheREADMEExample() throws {
    let data = try Data(
      contentsOf: URL(fileURLWithPath: Repository.path("Tests/ShardPlanTests/Fixtures/eplb_readme_example.json"))
    )
    let json = try JSONValue.parse(data, source: "eplb_readme_example.json")
    let weight = try #require(json["weight"]?.arrayValue).map { row in (row.arrayValue ?? []).compactMap(\.doubleValue)
    }
    let expected = try #require(json["expected_phy2log"]?.arrayValue).map { row in
      (row.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
    }
    let counts = try #require(json["_derived_logcnt"]?.arrayValue).map { row in
      (row.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
    }
    let load0 = try #require(json["_derived_per_gpu_load_layer0"]?.arrayValue).compactMap(\.doubleValue)
    let placement = try #require(ExpertBalancer.rebalance(load: weight, replicas: 16, groups: 4, nodes: 2, gpus: 8))
    #expect(placement.physicalToLogical == expected)
    #expect(placement.replicaCount == counts)
    #expect(placement.gpuLoad[0] == load0)
  }

  @Test func globalPolicyWhenGroupsDoNotDivideNodes() throws {
    let data = try Data(
      contentsOf: URL(fileURLWithPath: Repository.path("Tests/ShardPlanTests/Fixtures/eplb_readme_example.json"))
    )
    let json = try JSONValue.parse(data, source: "eplb")
    let weight = try #require(json["weight"]?.arrayValue).map { row in (row.arrayValue ?? []).compactMap(\.doubleValue)
    }
    let expected = try #require(json["_derived_global_policy_phy2log_same_input_groups1_nodes1"]?.arrayValue).map {
      row in
      (row.arrayValue ?? []).compactMap { $0.intValue.map(Int.init) }
    }
    let placement = try #require(ExpertBalancer.rebalance(load: weight, replicas: 16, groups: 1, nodes: 1, gpus: 8))
    #expect(placement.physicalToLogical == expected)
  }

  @Test func refusesShapesThatDoNotDivide() {
    #expect(ExpertBalancer.rebalance(load: [[1, 2, 3]], replicas: 4, groups: 1, nodes: 1, gpus: 3) == nil)
    #expect(ExpertBalancer.rebalance(load: [[1, 2, 3]], replicas: 2, groups: 1, nodes: 1, gpus: 1) == nil)
  }
}
