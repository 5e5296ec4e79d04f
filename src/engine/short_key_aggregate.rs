//! The first phase of a `GROUP BY` on one string column, keyed by the string's Arrow view
//! instead of a hash of its bytes.
//!
//! Parquet strings arrive as `Utf8View`: every value is a 16-byte view, and a value of at most
//! 12 bytes lies entirely inside its view (length, then the bytes, zero-padded). For such a
//! value the view is the value, so the partial aggregate maps the view, a `u128`, to its group
//! through a small open-addressing table instead of hashing and comparing bytes row by row.
//! Longer values and nulls take an ordinary path keyed by the bytes, so the result is correct
//! for any data; the grouping of the common case (a few dozen short categories over millions
//! of rows) is what gets cheaper.
//!
//! [`ShortKeyAggregation`] is the physical optimizer rule that puts [`ShortKeyAggregateExec`]
//! in place of DataFusion's partial `AggregateExec` where it applies; the final aggregate above
//! consumes its output unchanged (the same schema: the group column, then each aggregate's
//! partial state). The accumulators are DataFusion's own (`GroupsAccumulator`), fed the same
//! arguments, filters and group indices as DataFusion's partial aggregate would feed them.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringViewArray};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{internal_datafusion_err, HashMap, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, InputOrderMode,
    PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use futures::StreamExt;

/// Groups a partial aggregate holds before it hands them on and starts over (a partial
/// aggregate may emit early: the final aggregate merges partial states of the same group).
pub const DEFAULT_GROUP_LIMIT: usize = 64 * 1024;

/// The longest string a `Utf8View` view holds inline.
const INLINE_LEN: u32 = 12;

/// The physical optimizer rule that replaces an eligible partial `AggregateExec` with a
/// [`ShortKeyAggregateExec`]: partial mode, exactly one `Utf8View` group-by expression, no
/// grouping sets, input not ordered by the key, no limit, no ordered aggregates, and every
/// aggregate with a `GroupsAccumulator`. Anything else is left to DataFusion.
#[derive(Debug)]
pub struct ShortKeyAggregation {
    group_limit: usize,
}

impl Default for ShortKeyAggregation {
    fn default() -> Self {
        Self::with_group_limit(DEFAULT_GROUP_LIMIT)
    }
}

impl ShortKeyAggregation {
    /// The rule, its operators emitting once they hold `group_limit` groups (at least one).
    pub fn with_group_limit(group_limit: usize) -> Self {
        Self {
            group_limit: group_limit.clamp(1, u32::MAX as usize / 2),
        }
    }
}

impl PhysicalOptimizerRule for ShortKeyAggregation {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            if !eligible(aggregate)? {
                return Ok(Transformed::no(node));
            }
            let replacement = ShortKeyAggregateExec {
                aggregate: Arc::new(aggregate.clone()),
                group_limit: self.group_limit,
                metrics: ExecutionPlanMetricsSet::new(),
            };
            Ok(Transformed::yes(
                Arc::new(replacement) as Arc<dyn ExecutionPlan>
            ))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "short_key_aggregation"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether `aggregate` is a partial aggregate [`ShortKeyAggregateExec`] computes exactly.
fn eligible(aggregate: &AggregateExec) -> Result<bool> {
    let group_by = aggregate.group_expr();
    if *aggregate.mode() != AggregateMode::Partial
        || group_by.has_grouping_set()
        || !group_by.is_single()
        || group_by.expr().len() != 1
        || *aggregate.input_order_mode() != InputOrderMode::Linear
        || aggregate.limit_options().is_some()
        || !aggregate.dynamic_expressions_produced().is_empty()
    {
        return Ok(false);
    }
    if group_by.expr()[0]
        .0
        .data_type(&aggregate.input().schema())?
        != DataType::Utf8View
    {
        return Ok(false);
    }
    Ok(aggregate
        .aggr_expr()
        .iter()
        .all(|a| a.order_bys().is_empty() && a.groups_accumulator_supported()))
}

/// A partial aggregate grouping by one `Utf8View` expression (see the module documentation).
/// It wraps the `AggregateExec` it replaces, whose schema, plan properties and expressions it
/// keeps.
#[derive(Debug)]
pub struct ShortKeyAggregateExec {
    aggregate: Arc<AggregateExec>,
    group_limit: usize,
    metrics: ExecutionPlanMetricsSet,
}

impl DisplayAs for ShortKeyAggregateExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let key = self
            .aggregate
            .group_expr()
            .expr()
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let aggregates = self
            .aggregate
            .aggr_expr()
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", ");
        write!(
            f,
            "ShortKeyAggregateExec: gby=[{key}], aggr=[{aggregates}], group_limit={}",
            self.group_limit
        )
    }
}

impl ExecutionPlan for ShortKeyAggregateExec {
    fn name(&self) -> &'static str {
        "ShortKeyAggregateExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.aggregate.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.aggregate.input()]
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let replaced = Arc::clone(&self.aggregate).replace_children(children, options)?;
        let aggregate = replaced
            .downcast_ref::<AggregateExec>()
            .ok_or_else(|| internal_datafusion_err!("an AggregateExec replaced its children"))?
            .clone();
        Ok(Arc::new(Self {
            aggregate: Arc::new(aggregate),
            group_limit: self.group_limit,
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.aggregate.apply_expressions(f)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self
            .aggregate
            .input()
            .execute(partition, Arc::clone(&context))?;
        let schema = self.aggregate.schema();
        let run = Run {
            input,
            table: GroupTable::new(&self.aggregate, self.group_limit)?,
            schema: Arc::clone(&schema),
            batch_size: context.session_config().batch_size().max(1),
            pending: VecDeque::new(),
            finished: false,
            metrics: BaselineMetrics::new(&self.metrics, partition),
        };
        let stream = futures::stream::try_unfold(run, |mut run| async move {
            let batch = run.next_batch().await?;
            Ok(batch.map(|batch| (batch, run)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// One partition's execution: input batches in, partial-state batches out.
struct Run {
    input: SendableRecordBatchStream,
    table: GroupTable,
    schema: SchemaRef,
    batch_size: usize,
    /// Output batches ready to hand on.
    pending: VecDeque<RecordBatch>,
    finished: bool,
    metrics: BaselineMetrics,
}

impl Run {
    /// The next output batch: aggregates input until the table is full or the input ends.
    async fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if let Some(batch) = self.pending.pop_front() {
                self.metrics.record_output(batch.num_rows());
                return Ok(Some(batch));
            }
            if self.finished {
                return Ok(None);
            }
            match self.input.next().await {
                Some(batch) => {
                    let batch = batch?;
                    let elapsed = self.metrics.elapsed_compute().clone();
                    let _timer = elapsed.timer();
                    self.table.aggregate(&batch)?;
                    if self.table.is_full() {
                        self.emit()?;
                    }
                }
                None => {
                    self.finished = true;
                    let elapsed = self.metrics.elapsed_compute().clone();
                    let _timer = elapsed.timer();
                    self.emit()?;
                }
            }
        }
    }

    /// Moves every group and its states into `pending`, in batches of the session's size.
    fn emit(&mut self) -> Result<()> {
        let Some(batch) = self.table.take(&self.schema)? else {
            return Ok(());
        };
        let mut offset = 0;
        while offset < batch.num_rows() {
            let length = self.batch_size.min(batch.num_rows() - offset);
            self.pending.push_back(batch.slice(offset, length));
            offset += length;
        }
        Ok(())
    }
}

/// One aggregate of the query: what it reads, its optional `FILTER`, its accumulator.
struct Aggregate {
    arguments: Vec<Arc<dyn PhysicalExpr>>,
    filter: Option<Arc<dyn PhysicalExpr>>,
    accumulator: Box<dyn GroupsAccumulator>,
}

/// The groups seen since the last emission and their accumulators.
struct GroupTable {
    key: Arc<dyn PhysicalExpr>,
    aggregates: Vec<Aggregate>,
    /// Each group's key (`None`: the null group), by group index.
    keys: Vec<Option<String>>,
    inline: InlineViews,
    long: HashMap<Box<[u8]>, usize>,
    null_group: Option<usize>,
    /// The group index of each row of the current batch.
    rows: Vec<usize>,
    limit: usize,
}

impl GroupTable {
    fn new(aggregate: &AggregateExec, limit: usize) -> Result<Self> {
        let key = Arc::clone(&aggregate.group_expr().expr()[0].0);
        let aggregates = aggregate
            .aggr_expr()
            .iter()
            .zip(aggregate.filter_expr())
            .map(|(function, filter)| new_aggregate(function, filter.clone()))
            .collect::<Result<_>>()?;
        Ok(Self {
            key,
            aggregates,
            keys: Vec::new(),
            inline: InlineViews::new(),
            long: HashMap::default(),
            null_group: None,
            rows: Vec::new(),
            limit,
        })
    }

    /// Whether the table holds as many groups as it may.
    fn is_full(&self) -> bool {
        self.keys.len() >= self.limit
    }

    /// Adds one input batch: its rows' groups, then every aggregate's update.
    fn aggregate(&mut self, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows();
        let key = self.key.evaluate(batch)?.into_array(rows)?;
        let key = key
            .as_string_view_opt()
            .ok_or_else(|| internal_datafusion_err!("the group key is not a Utf8View array"))?;
        self.intern(key);
        let groups = self.keys.len();
        for aggregate in &mut self.aggregates {
            let arguments = aggregate
                .arguments
                .iter()
                .map(|e| e.evaluate(batch).and_then(|v| v.into_array(rows)))
                .collect::<Result<Vec<_>>>()?;
            let filter = match &aggregate.filter {
                Some(filter) => Some(filter.evaluate(batch)?.into_array(rows)?),
                None => None,
            };
            let filter = match &filter {
                Some(f) => Some(f.as_boolean_opt().ok_or_else(|| {
                    internal_datafusion_err!("an aggregate's FILTER is not boolean")
                })?),
                None => None,
            };
            aggregate
                .accumulator
                .update_batch(&arguments, &self.rows, filter, groups)?;
        }
        Ok(())
    }

    /// Sets `rows` to the group index of each value of `key`, adding the new groups.
    fn intern(&mut self, key: &StringViewArray) {
        let mut rows = std::mem::take(&mut self.rows);
        rows.clear();
        rows.reserve(key.len());
        let views = key.views().iter().enumerate();
        match key.nulls().filter(|n| n.null_count() > 0) {
            None => rows.extend(views.map(|(row, &view)| self.group_of(key, row, view))),
            Some(nulls) => rows.extend(views.map(|(row, &view)| {
                if nulls.is_null(row) {
                    self.null_group()
                } else {
                    self.group_of(key, row, view)
                }
            })),
        }
        self.rows = rows;
    }

    /// The group of the non-null value at `row` (whose view is `view`): the lookup of a short
    /// value already seen stays in the caller's loop, the rest is [`GroupTable::other_group`].
    #[inline(always)]
    fn group_of(&mut self, key: &StringViewArray, row: usize, view: u128) -> usize {
        if view as u32 <= INLINE_LEN {
            if let Some(group) = self.inline.find(view) {
                return group;
            }
        }
        self.other_group(key, row, view)
    }

    /// The group of a short value not seen yet, or of a long value.
    #[inline(never)]
    fn other_group(&mut self, key: &StringViewArray, row: usize, view: u128) -> usize {
        let value = key.value(row);
        if view as u32 <= INLINE_LEN {
            let group = self.new_group(Some(value));
            self.inline.insert(view, group);
            return group;
        }
        match self.long.get(value.as_bytes()) {
            Some(&group) => group,
            None => {
                let group = self.new_group(Some(value));
                self.long.insert(value.as_bytes().into(), group);
                group
            }
        }
    }

    fn null_group(&mut self) -> usize {
        match self.null_group {
            Some(group) => group,
            None => {
                let group = self.new_group(None);
                self.null_group = Some(group);
                group
            }
        }
    }

    fn new_group(&mut self, key: Option<&str>) -> usize {
        self.keys.push(key.map(str::to_owned));
        self.keys.len() - 1
    }

    /// Every group and its partial states as one batch of `schema` (`None` when there are no
    /// groups); the table is empty afterwards.
    fn take(&mut self, schema: &SchemaRef) -> Result<Option<RecordBatch>> {
        if self.keys.is_empty() {
            return Ok(None);
        }
        let keys: StringViewArray = self.keys.iter().map(Option::as_deref).collect();
        let mut columns: Vec<ArrayRef> = vec![Arc::new(keys)];
        for aggregate in &mut self.aggregates {
            columns.extend(aggregate.accumulator.state(EmitTo::All)?);
        }
        self.keys = Vec::new();
        self.inline = InlineViews::new();
        self.long = HashMap::default();
        self.null_group = None;
        Ok(Some(RecordBatch::try_new(Arc::clone(schema), columns)?))
    }
}

/// An aggregate's arguments (as DataFusion's partial aggregate evaluates them), filter and a
/// fresh accumulator.
fn new_aggregate(
    function: &Arc<AggregateFunctionExpr>,
    filter: Option<Arc<dyn PhysicalExpr>>,
) -> Result<Aggregate> {
    Ok(Aggregate {
        arguments: function.expressions(),
        filter,
        accumulator: function.create_groups_accumulator()?,
    })
}

/// An open-addressing table from inline views (strings of at most 12 bytes) to group indices:
/// linear probing, at most a quarter full, so that a lookup almost always ends at its first
/// slot.
struct InlineViews {
    slots: Vec<Slot>,
    /// `64 - log2(slots.len())`: the hash's top bits pick the first slot.
    shift: u32,
    len: usize,
}

#[derive(Clone, Copy)]
struct Slot {
    view: u128,
    /// The group index; [`Slot::EMPTY`] for a free slot.
    group: u32,
}

impl Slot {
    const EMPTY: u32 = u32::MAX;
    const FREE: Slot = Slot {
        view: 0,
        group: Slot::EMPTY,
    };
}

impl InlineViews {
    const INITIAL_BITS: u32 = 8;

    fn new() -> Self {
        Self {
            slots: vec![Slot::FREE; 1 << Self::INITIAL_BITS],
            shift: 64 - Self::INITIAL_BITS,
            len: 0,
        }
    }

    /// The first slot of `view`: multiplicative hashing of both halves of the view.
    #[inline(always)]
    fn home(&self, view: u128) -> usize {
        let low = view as u64;
        let high = (view >> 64) as u64;
        let hash =
            (low.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ high).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        (hash >> self.shift) as usize
    }

    /// The group of `view`, if it has one.
    #[inline(always)]
    fn find(&self, view: u128) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut at = self.home(view);
        loop {
            let slot = self.slots[at & mask];
            if slot.view == view && slot.group != Slot::EMPTY {
                return Some(slot.group as usize);
            }
            if slot.group == Slot::EMPTY {
                return None;
            }
            at += 1;
        }
    }

    /// Adds `view` → `group` (`view` has no group yet).
    fn insert(&mut self, view: u128, group: usize) {
        self.place(Slot {
            view,
            group: group as u32,
        });
        self.len += 1;
        if self.len * 4 > self.slots.len() {
            let capacity = self.slots.len() * 2;
            let old = std::mem::replace(&mut self.slots, vec![Slot::FREE; capacity]);
            self.shift -= 1;
            for slot in old.into_iter().filter(|s| s.group != Slot::EMPTY) {
                self.place(slot);
            }
        }
    }

    /// Puts `slot` in the first free slot from its view's home.
    fn place(&mut self, slot: Slot) {
        let mask = self.slots.len() - 1;
        let mut at = self.home(slot.view) & mask;
        while self.slots[at].group != Slot::EMPTY {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }
}

#[cfg(test)]
mod tests;
