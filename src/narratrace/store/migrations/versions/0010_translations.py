"""analyst translations: an English (or other) rendering of a stored sentence or quote span

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keyed by the span it renders (document, start, end), like reviews by sentence ids: the
    # analysis stages replace matches, contradictions and quotes, never sentences, so a re-run
    # keeps every translation.
    op.create_table(
        'translation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sentence_id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('start', sa.Integer(), nullable=False),
        sa.Column('end', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('translator', sa.String(length=128), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['sentence_id'], ['sentence.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['document_id'], ['document.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('document_id', 'start', 'end', 'language'),
    )
    op.create_index('ix_translation_sentence_id', 'translation', ['sentence_id'])


def downgrade() -> None:
    op.drop_index('ix_translation_sentence_id', table_name='translation')
    op.drop_table('translation')
