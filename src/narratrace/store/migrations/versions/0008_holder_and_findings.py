"""holder of each narrative match, per-narrative sensitivity, folded contradiction evidence

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('narrative') as b:
        b.add_column(sa.Column('sensitivity', sa.Float(), nullable=True))
    with op.batch_alter_table('narrative_match') as b:
        b.add_column(sa.Column('p_related', sa.Float(), nullable=True))
        b.add_column(sa.Column('holder_kind', sa.String(length=16), nullable=False, server_default='outlet'))
        b.add_column(sa.Column('holder', sa.String(length=256), nullable=True))
        b.add_column(sa.Column('holder_entity_id', sa.Integer(), nullable=True))
        b.add_column(sa.Column('holder_actor_id', sa.Integer(), nullable=True))
        b.add_column(sa.Column('claim_start', sa.Integer(), nullable=True))
        b.add_column(sa.Column('claim_end', sa.Integer(), nullable=True))
        b.add_column(sa.Column('writer_stance', sa.String(length=16), nullable=True))
        b.create_foreign_key('fk_match_holder_entity', 'entity', ['holder_entity_id'], ['id'], ondelete='SET NULL')
        b.create_foreign_key('fk_match_holder_actor', 'actor', ['holder_actor_id'], ['id'], ondelete='SET NULL')
        b.create_index('ix_narrative_match_holder_actor_id', ['holder_actor_id'])
    with op.batch_alter_table('contradiction') as b:
        b.add_column(sa.Column('folded', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('contradiction') as b:
        b.drop_column('folded')
    with op.batch_alter_table('narrative_match') as b:
        b.drop_index('ix_narrative_match_holder_actor_id')
        b.drop_constraint('fk_match_holder_actor', type_='foreignkey')
        b.drop_constraint('fk_match_holder_entity', type_='foreignkey')
        for c in ('writer_stance', 'claim_end', 'claim_start', 'holder_actor_id', 'holder_entity_id', 'holder',
                  'holder_kind', 'p_related'):
            b.drop_column(c)
    with op.batch_alter_table('narrative') as b:
        b.drop_column('sensitivity')
