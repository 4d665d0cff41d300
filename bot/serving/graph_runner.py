"""Run the model's prediction graph doing only the work that can change its answer.

Rasa runs the whole graph on every call. Three parts of that work cannot
change the answer, and the load benchmark showed them as a large share of
the server's CPU (docs/benchmarks.md, "Load"):

* the sub-graph needed for a target is worked out again on every call (a
  recursive walk of the schema) and handed to dask, which then hashes and
  scans every input, the whole domain included; here the nodes are run in
  an order worked out once per target, in this thread, as dask's
  synchronous scheduler runs them;
* a button payload such as `/inform{"branch":"福田支行"}` goes through the
  tokeniser, the featurizers, DIET and both response selectors, and then
  `RegexMessageHandler` replaces everything they found with the intent and
  entities written in the payload. For a payload that names an intent of
  the domain, only the text normaliser (the handler reads the normalised
  text) and the handler run;
* TED predicts the next action on every turn, but the ensemble can only
  choose TED when no other policy is certain. The other policies answer
  first; when one of them is certain in a way TED cannot outrank, TED is
  given the answer it gives without a model (all zeros) instead of running.

The answers are Rasa's own: tests/test_serving_graph.py runs both runners
on the same parses and conversations and compares every field.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Text, Tuple

from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.serving import guard

NLU_INPUT_NODE = "nlu_message_converter"
DOMAIN_NODE = "domain_provider"


def _node_using(schema: GraphSchema, component: type) -> Optional[Text]:
    """The name of the first node whose component is `component` (or a subclass)."""
    return next((name for name, node in schema.nodes.items() if issubclass(node.uses, component)), None)


def _text_rewriting_node(schema: GraphSchema) -> Optional[Text]:
    """The first node whose component rewrites the message text before anything reads it.

    A component says so with a class attribute `rewrites_text = True` (our
    text normaliser does), so serving depends on no concrete NLU class.
    """
    return next((name for name, node in schema.nodes.items() if getattr(node.uses, "rewrites_text", False)), None)


@dataclass(frozen=True)
class PayloadShortcut:
    """Parse intent payloads (`/intent{...}`) with the normaliser and the regex handler only."""

    handler: Text          # the RegexMessageHandler node: the NLU target
    handler_input: Text    # the node whose messages the handler reads
    text_node: Text        # the last node that changes a message's text

    @classmethod
    def find(cls, schema: GraphSchema) -> Optional["PayloadShortcut"]:
        handler = _node_using(schema, RegexMessageHandler)
        if handler is None:
            return None
        text_node = _text_rewriting_node(schema) or NLU_INPUT_NODE
        return cls(handler, schema.nodes[handler].needs["messages"], text_node)

    @staticmethod
    def names_known_intent(message: Message, domain: Domain) -> bool:
        """True when the handler will replace this message by the payload's intent and entities."""
        match = YAMLStoryReader._regex_message_pattern().match((message.get(TEXT) or "").strip())
        return bool(match) and match.group(INTENT_NAME_KEY).strip() in domain.intents

    def run(self, runner: "LeanGraphRunner", inputs: Dict[Text, Any]) -> Dict[Text, Any]:
        early = runner.run_with(inputs, [self.text_node, DOMAIN_NODE])
        messages, domain = early[self.text_node], early[DOMAIN_NODE]
        if messages and all(self.names_known_intent(message, domain) for message in messages):
            return runner.run_with(inputs, [self.handler], {self.handler_input: messages, DOMAIN_NODE: domain})
        return runner.run_with(inputs, [self.handler], early)


@dataclass(frozen=True)
class TedGate:
    """Run TED only when its prediction could be the one the ensemble picks."""

    ensemble: Text
    ted: Text
    others: Tuple[Text, ...]
    policy: TEDPolicy

    @classmethod
    def find(cls, schema: GraphSchema, runner: DaskGraphRunner) -> Optional["TedGate"]:
        ensemble = _node_using(schema, DefaultPolicyPredictionEnsemble)
        ted = _node_using(schema, TEDPolicy)
        if ensemble is None or ted is None:
            return None
        policy = runner._instantiated_nodes[ted]._component
        # A TED trained on end-to-end stories can override intent-based policies; never skip that one.
        if TEXT in getattr(policy, "fake_features", {}):
            return None
        policies = [name for name in schema.nodes[ensemble].needs.values()
                    if name not in (ted, PLACEHOLDER_TRACKER, DOMAIN_NODE)]
        return cls(ensemble, ted, tuple(policies), policy)

    def run(self, runner: "LeanGraphRunner", inputs: Dict[Text, Any]) -> Dict[Text, Any]:
        known = runner.run_with(inputs, [*self.others, DOMAIN_NODE])
        domain = known[DOMAIN_NODE]
        predictions = [known[name] for name in self.others]
        if not ted_could_win(predictions, self.policy.priority, inputs[PLACEHOLDER_TRACKER], domain):
            known[self.ted] = self.policy._prediction(self.policy._default_predictions(domain))
        return runner.run_with(inputs, [self.ensemble], known)


def _rejected_action(tracker: DialogueStateTracker) -> Optional[Text]:
    """The action whose execution was just rejected, as the ensemble finds it."""
    last = next((event for event in reversed(tracker.events)
                 if isinstance(event, (ActionExecutionRejected, ActionExecuted))), None)
    return last.action_name if isinstance(last, ActionExecutionRejected) else None


def ted_could_win(predictions: Sequence[PolicyPrediction], ted_priority: int, tracker: DialogueStateTracker,
                  domain: Domain) -> bool:
    """Whether a TED prediction (never no-user, never end-to-end) could beat `predictions`.

    Mirrors `DefaultPolicyPredictionEnsemble._best_policy_prediction`: a
    no-user prediction (a form's happy path) or an end-to-end one shuts out
    every prediction that is not of its kind, TED's included; otherwise the
    highest (confidence, priority) wins, after the confidence of an action
    whose execution was just rejected is set to 0. TED's confidence is at
    most 1, so a policy of higher priority that is certain always wins.
    """
    if any(p.is_no_user_prediction or p.is_end_to_end_prediction for p in predictions):
        return False
    rejected = _rejected_action(tracker)
    rejected_index = domain.index_for_action(rejected) if rejected else None
    for prediction in predictions:
        confidences = [0.0 if i == rejected_index else c for i, c in enumerate(prediction.probabilities)]
        if prediction.policy_priority > ted_priority and max(confidences, default=0.0) >= 1.0:
            return False
    return True


class LeanGraphRunner(DaskGraphRunner):
    """Rasa's `DaskGraphRunner` with the shortcuts described in this module's docstring."""

    def __init__(self, graph_schema: GraphSchema, *args: Any, **kwargs: Any) -> None:
        super().__init__(graph_schema, *args, **kwargs)
        self._orders: Dict[Tuple[Tuple[Text, ...], FrozenSet[Text]], List[Text]] = {}
        self._payloads = PayloadShortcut.find(graph_schema)
        self._ted_gate = TedGate.find(graph_schema, self)

    def run(self, inputs: Optional[Dict[Text, Any]] = None,
            targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        targets = list(targets or self._graph_schema.target_names)
        inputs = inputs or {}
        if self._ted_gate and targets == [self._ted_gate.ensemble] and PLACEHOLDER_TRACKER in inputs:
            return self._ted_gate.run(self, inputs)
        if self._payloads and targets == [self._payloads.handler]:
            return self._payloads.run(self, inputs)
        return self.run_with(inputs, targets)

    def run_with(self, inputs: Dict[Text, Any], targets: List[Text],
                 known: Optional[Dict[Text, Any]] = None) -> Dict[Text, Any]:
        """Run the nodes `targets` need, taking the outputs in `known` as given instead of running them."""
        # Each node takes its parents' outputs as (node name, output) pairs, as under dask.
        outputs = {name: (name, value) for name, value in {**inputs, **(known or {})}.items()}
        try:
            for name in self._order(tuple(targets), frozenset(outputs)):
                parents = self._graph_schema.nodes[name].needs.values()
                outputs[name] = self._instantiated_nodes[name](*(outputs[parent] for parent in parents))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return {target: outputs[target][1] for target in targets}

    def _order(self, targets: Tuple[Text, ...], given: FrozenSet[Text]) -> List[Text]:
        """The nodes `targets` depend on, parents first, stopping at the given outputs (worked out once)."""
        key = (targets, given)
        if key not in self._orders:
            order: List[Text] = []

            def visit(name: Text) -> None:
                if name in given or name in order:
                    return
                if name not in self._graph_schema.nodes:
                    raise GraphRunError(f"Nothing provides '{name}': not a node and not an input.")
                for parent in self._graph_schema.nodes[name].needs.values():
                    visit(parent)
                order.append(name)

            for target in targets:
                visit(target)
            self._orders[key] = order
        return self._orders[key]


def _apply() -> None:
    """Make Rasa's message processor load models with `LeanGraphRunner`."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = LeanGraphRunner


# What the runner relies on: how the processor builds its runner, the
# runner's nodes (a private attribute), the ensemble's decision that
# `ted_could_win` mirrors, TED's model-free answer, and how the regex
# handler recognises a payload.
PATCH = guard.Patch("graph_runner", _apply, mirrors={
    "rasa.core.processor:MessageProcessor._load_model":
        "17f24faf96817bdf63af426fcbf3e2d830731a801573e448c070fc0ebb396ad2",
    "rasa.engine.runner.dask:DaskGraphRunner.__init__":
        "29f069a010bd16a54bce609b8a31f757b2af90f2cb9c1c85b62ffbd27f104284",
    "rasa.engine.runner.dask:DaskGraphRunner.run":
        "45f0f52f574f3aa9546a552bf671183e171092c18b66e97f5771a7fa295de37e",
    "rasa.core.policies.ensemble:DefaultPolicyPredictionEnsemble._pick_best_policy":
        "ae2dd5555a9a6aa7ebd842c6b0368027a26b717e8861d2ea4fac181e0f1cb58a",
    "rasa.core.policies.ensemble:DefaultPolicyPredictionEnsemble._best_policy_prediction":
        "2abb246155670b85a8655504cf447f6b2846fdf69800dc8c279cfac5aaa78c89",
    "rasa.core.policies.policy:Policy._prediction":
        "3e1fc2406a558615744d19755b3e6f3a548c574efc151bba991efcd24a74429e",
    "rasa.core.policies.ted_policy:TEDPolicy._default_predictions":
        "2b22ab7cc6a86e9029558327a3f9dd145a5c11a8d6729fbdae398d1fc15bd0e1",
    "rasa.nlu.classifiers.regex_message_handler:RegexMessageHandler.process":
        "c0b15285ba78223da6a265cde96c29e5377046c7aa5d049d01de2f68962903c9",
    "rasa.shared.core.training_data.story_reader.yaml_story_reader:YAMLStoryReader._regex_message_pattern":
        "74ff5e0923c7da5d6fda534d1a975d7cd22f6a6b92878cd5ad4c4980349da562",
})


def install() -> bool:
    return guard.install(PATCH)
